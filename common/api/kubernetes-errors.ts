// zod issues phrased the way kube-apiserver phrases the same violation of the
// generated openAPIV3Schema, so a user sees one message whether the CRD schema
// (kubectl apply) or zod (the operator, the CLI, `--local`) caught it.
import type { z } from "zod";

/** A field path as the apiserver prints it: `spec.hyperparameters.styleLayers[0]`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function quoted(value: unknown): string {
  return JSON.stringify(value);
}

type Issue = z.core.$ZodRawIssue;

/** Error map passed to `safeParse(x, { error: kubernetesErrorMap })`. */
export function kubernetesErrorMap(issue: Issue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "Required value";
      const def = (issue.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def;
      const isInt = def?.format === "safeint" || def?.format === "int32";
      const expected = isInt ? "integer" : issue.expected === "record" ? "object" : issue.expected;
      return `must be of type ${expected}`;
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "array") return `should have at least ${min} items`;
      if (issue.origin === "string") return `should be at least ${min} chars long`;
      return issue.inclusive === false
        ? `should be greater than ${min}`
        : `should be greater than or equal to ${min}`;
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "array") return `must have at most ${max} items`;
      if (issue.origin === "string") return `may not be more than ${max} bytes`;
      return issue.inclusive === false
        ? `should be less than ${max}`
        : `should be less than or equal to ${max}`;
    }
    case "not_multiple_of":
      return `should be a multiple of ${String(issue.divisor)}`;
    case "invalid_value":
      return `Unsupported value: ${quoted(issue.input)}: supported values: ${issue.values.map(quoted).join(", ")}`;
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map(quoted).join(", ")}`;
    case "invalid_format":
      return `must be in ${issue.format} format`;
    default:
      return undefined; // custom rules carry their own message (shared with the CEL rule)
  }
}

export interface FieldError {
  /** `spec.workers`, as the apiserver names it. */
  field: string;
  message: string;
}

export function toFieldErrors(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldError[] {
  return error.issues.map((issue) => {
    // unknown keys are reported on the object; name the offending field itself
    const path =
      issue.code === "unrecognized_keys" && issue.keys.length === 1
        ? [...prefix, ...issue.path, issue.keys[0] as string]
        : [...prefix, ...issue.path];
    return { field: formatFieldPath(path), message: issue.message };
  });
}

/** `spec.workers: should be greater than or equal to 1; spec.style: Required value` */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join("; ");
}
