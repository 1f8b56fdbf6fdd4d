/** Codes of rule-language and rule-file diagnostics, with what each means. */
export const DSL_ERRORS = {} as const;
