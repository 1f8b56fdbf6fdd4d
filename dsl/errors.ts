/** Codes of rule-language and rule-file diagnostics, with what each means. */
export const DSL_ERRORS = {
  // Lexical structure (DSL.md 3)
  ERR_DSL_INVALID_CHARACTER:
    'a character that starts no token (outside strings only ASCII letters, digits, operators and punctuation)',
  ERR_DSL_UNCLOSED_STRING: 'a string literal has no closing double quote',
  ERR_DSL_BAD_NUMBER:
    'a number written with an exponent, hex digits, underscores or letters after it',
  ERR_DSL_BAD_DURATION:
    'a duration literal with a sign, a compound form or no known unit (ns, us, ms, s, m, h)',

  // Grammar (DSL.md 4)
  ERR_DSL_EMPTY_RULE: 'the rule text is empty or holds only comments',
  ERR_DSL_UNEXPECTED_TOKEN: 'the text does not follow the grammar at this token',
  ERR_DSL_DOUBLE_NOT: '"not not" without parentheses',

  // Static checks (DSL.md 6.9)
  ERR_DSL_NO_CLAUSE: 'S1: the rule has neither an always nor a never clause',
  ERR_DSL_DUPLICATE_CLAUSE: 'S2: always or never appears twice',
  ERR_DSL_SPAN_REFERENCE: 'S3: a span reference inside .where(...)',
  ERR_DSL_COUNT_AS_VALUE:
    'S4: count(...) on the right of an attribute comparison',
  ERR_DSL_LIST_MISUSE:
    'S5: in without a list, or a list after an operator other than in',
  ERR_DSL_BAD_REGEX: 'S6: a matches pattern that is not valid RE2 syntax',
  ERR_DSL_DIRECT_NEEDS_SPAN:
    'S7: a direct comparison whose left side is a single name',

  // Limits (DSL.md 7, S8)
  ERR_DSL_RULE_TOO_LONG: 'the rule text is over 65536 UTF-8 bytes',
  ERR_DSL_STRING_TOO_LONG: 'a string literal holds more than 10000 characters',
  ERR_DSL_NAME_TOO_LONG: 'an identifier is longer than 100 characters',
  ERR_DSL_TOO_DEEP: 'more than 100 parentheses are open at once',

  // Extensions (DSL.md 13)
  ERR_DSL_UNKNOWN_SCOPE: 'a scoped name other than span: or resource:',
  ERR_DSL_UNKNOWN_INTRINSIC:
    'a span: name other than duration, status, kind and name',
  ERR_DSL_SCOPE_OUTSIDE_WHERE:
    'a scoped name (span:..., resource:...) or * outside the place it may stand',
  ERR_DSL_OPERATOR_NOT_ALLOWED:
    'an operator that the left side does not support (span:status < ok)',
  ERR_DSL_BAD_VALUE:
    'a value the left side cannot be compared with (an unknown status, a duration beside an attribute)',

  // Warnings
  ERR_DSL_BARE_WORD_ORDERING:
    'warning: an ordering operator with a bare word on its right, which is text, not an attribute',

  // Rule files (PRODUCT.md 2)
  ERR_DSL_FILE_UNREADABLE: 'a rule file cannot be read',
  ERR_DSL_NO_MATCH: 'a file pattern matches no file',
  ERR_DSL_YAML_SYNTAX: 'a rule file is not valid YAML',
  ERR_DSL_YAML_WARNING: 'warning: YAML that parses but is probably a mistake',
  ERR_DSL_FILE_EMPTY: 'a listed rule file holds nothing, or rules: has no value (write rules: [] on purpose)',
  ERR_DSL_FILE_SHAPE:
    'a rule file is not a mapping with a rules: list (or a list of rules)',
  ERR_DSL_UNKNOWN_FIELD: 'a key that the rule-file shape does not have',
  ERR_DSL_MISSING_FIELD: 'a required field (id, condition, span, trace) is absent',
  ERR_DSL_BAD_FIELD: 'a field with a value of the wrong type or form',
  ERR_DSL_BAD_SEVERITY: 'a severity other than critical, high, medium or low',
  ERR_DSL_DUPLICATE_ID: 'two rules with the same id in one load',
  ERR_DSL_BAD_EXAMPLE:
    'an example trace that does not have the documented shape',
} as const;

/** One of the codes above. */
export type DslErrorCode = keyof typeof DSL_ERRORS;
