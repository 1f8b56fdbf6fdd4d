/** Codes of configuration errors, with what each means. */
export const CONFIG_ERRORS = {} as const;
