// The dashboard's settings, from environment variables (the Helm chart sets
// them). Kept apart from the operator's config so the dashboard can be
// switched off or reconfigured without touching reconciliation settings.
import { z } from "zod";
import { serverObjectName } from "../../common/api/owned-objects.js";

const bool = z.enum(["true", "false"]).transform((v) => v === "true");
const list = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  )
  .pipe(z.array(z.url()));

export const DashboardConfigSchema = z.object({
  /** Serve the dashboard at `/` on the operator's HTTP port. */
  STYLEKUBE_DASHBOARD: bool.default(true),
  /**
   * Bearer token that authorises every action (scale, suspend, resume,
   * delete). The chart puts it in a Secret. Unset (and TokenReview off):
   * the dashboard is read-only.
   */
  STYLEKUBE_DASHBOARD_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  /**
   * Also accept Kubernetes tokens: TokenReview authenticates, then a
   * SubjectAccessReview asks whether that user may do this very action on
   * this object (so the dashboard never lends the operator's rights).
   */
  STYLEKUBE_DASHBOARD_TOKEN_REVIEW: bool.default(false),
  /** Audiences a Kubernetes token must carry; empty: the apiserver's default. */
  STYLEKUBE_DASHBOARD_TOKEN_AUDIENCES: list.default([]),
  /** Origins (besides the page's own) allowed to send actions, e.g. behind a proxy that rewrites Host. */
  STYLEKUBE_DASHBOARD_ALLOWED_ORIGINS: list.default([]),
  /**
   * Where "try it" sends photos: `{name}` and `{namespace}` are replaced by
   * the StyleServer's. In the cluster its Service; for a local run, e.g.
   * http://127.0.0.1:8081.
   */
  STYLEKUBE_DASHBOARD_SERVING_URL: z.string().default(`http://${serverObjectName("{name}")}.{namespace}.svc`),
  /** Largest photo "try it" forwards. */
  STYLEKUBE_DASHBOARD_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  /** Loss points kept per training; older points are thinned out, never the newest. */
  STYLEKUBE_DASHBOARD_HISTORY_POINTS: z.coerce.number().int().min(16).max(100_000).default(2000),
  /** Checkpoints with previews remembered per training. */
  STYLEKUBE_DASHBOARD_PREVIEWS: z.coerce.number().int().min(1).max(10_000).default(500),
});
export type DashboardConfig = z.infer<typeof DashboardConfigSchema>;

export function readDashboardConfig(env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  const result = DashboardConfigSchema.safeParse(env);
  if (result.success) return result.data;
  // Name the variable, never echo the value: it may be the token.
  const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new Error(`invalid dashboard configuration: ${problems}`);
}
