// Style names and the {styleName: modelURI} map that configures a server
// (STYLEKUBE_STYLES, STYLEKUBE_STYLES_FILE, the admin API).
import { z } from "zod";
import { DNS_LABEL_REGEXP } from "../common/api/fields.js";
import { StorageUriSchema } from "../common/storage/uri.js";

/** Same rule as StyleServer.spec.styles keys, so every configured name is addressable in a URL. */
export const StyleNameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(DNS_LABEL_REGEXP, "style names are lowercase RFC 1123 labels: a-z, 0-9 and '-'");

export const ModelUriSchema = StorageUriSchema;

export const StyleMapSchema = z.record(StyleNameSchema, ModelUriSchema);
export type StyleMap = z.infer<typeof StyleMapSchema>;
