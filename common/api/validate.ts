// Validation of StyleTraining / StyleServer objects with apiserver-style
// messages, for the operator (objects from the API), the CLI and --local runs.
import type { z } from "zod";
import {
  formatFieldErrors,
  kubernetesErrorMap,
  toFieldErrors,
  type FieldError,
} from "./kubernetes-errors.js";
import { StyleServerSchema, type StyleServer } from "./style-server.js";
import { StyleTrainingSchema, type StyleTraining } from "./style-training.js";

export type ValidationResult<T> =
  { ok: true; value: T } | { ok: false; errors: FieldError[]; message: string };

function validateWith<S extends z.ZodType>(schema: S, input: unknown): ValidationResult<z.infer<S>> {
  const result = schema.safeParse(input, { error: kubernetesErrorMap });
  if (result.success) return { ok: true, value: result.data };
  const errors = toFieldErrors(result.error);
  return { ok: false, errors, message: formatFieldErrors(errors) };
}

export function validateStyleTraining(input: unknown): ValidationResult<StyleTraining> {
  return validateWith(StyleTrainingSchema, input);
}

export function validateStyleServer(input: unknown): ValidationResult<StyleServer> {
  return validateWith(StyleServerSchema, input);
}

/** Validate by `kind`; anything else is an error naming the field. */
export function validateResource(input: unknown): ValidationResult<StyleTraining | StyleServer> {
  const kind = (input as { kind?: unknown } | null)?.kind;
  if (kind === "StyleTraining") return validateStyleTraining(input);
  if (kind === "StyleServer") return validateStyleServer(input);
  const errors = [
    {
      field: "kind",
      message: `Unsupported value: ${JSON.stringify(kind)}: supported values: "StyleTraining", "StyleServer"`,
    },
  ];
  return { ok: false, errors, message: formatFieldErrors(errors) };
}
