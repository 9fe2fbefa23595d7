// An environment variable that holds JSON, for zod schemas of settings:
// `jsonText.pipe(Schema)` reports "not JSON: …" under the variable's name
// when it does not parse, and the schema's own issues when it does.
import { z } from "zod";

export const jsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `not JSON: ${(err as Error).message}` });
    return z.NEVER;
  }
});
