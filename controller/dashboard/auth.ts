// Who may act through the dashboard. Reading is open (inside the cluster
// network, like `kubectl get` for anyone with the port); every action needs a
// bearer token in the Authorization header:
//   - the dashboard token (STYLEKUBE_DASHBOARD_TOKEN, from a Secret), or
//   - with STYLEKUBE_DASHBOARD_TOKEN_REVIEW, a Kubernetes token: TokenReview
//     says who it is, then a SubjectAccessReview asks whether that user may do
//     this very verb on this very object — the operator never lends its own
//     rights to a caller.
// CSRF: browsers never attach an Authorization header by themselves (no
// cookies are used), and requests that change anything must come from the
// page's own origin (Origin / Sec-Fetch-Site checked).
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import * as k8s from "@kubernetes/client-node";
import { GROUP } from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";

/** What an action needs, in RBAC terms. */
export interface ActionAttributes {
  verb: "patch" | "delete" | "update";
  resource: "styletrainings" | "styleservers";
  subresource?: "scale";
  namespace: string;
  name: string;
}

export type AuthResult =
  | { ok: true; user: string; via: "dashboard-token" | "kubernetes" }
  | { ok: false; status: 401 | 403 | 503; error: string; user?: string };

export interface AuthorizerOptions {
  token: string | undefined;
  tokenReview: boolean;
  audiences: string[];
  kc: k8s.KubeConfig;
  log: Logger;
}

interface Identity {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** TokenReview answers are reused this long, so a burst of clicks is one review. */
const REVIEW_TTL_MS = 30_000;

const sha256 = (s: string) => createHash("sha256").update(s).digest();

export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export class Authorizer {
  private readonly tokenHash: Buffer | undefined;
  private readonly reviews = new Map<string, { at: number; identity: Identity | null }>();
  // Made on first use: with only the dashboard token no API client is needed.
  private authnApi: k8s.AuthenticationV1Api | undefined;
  private authzApi: k8s.AuthorizationV1Api | undefined;

  constructor(private readonly opts: AuthorizerOptions) {
    this.tokenHash = opts.token ? sha256(opts.token) : undefined;
  }

  private get authn(): k8s.AuthenticationV1Api {
    return (this.authnApi ??= this.opts.kc.makeApiClient(k8s.AuthenticationV1Api));
  }

  private get authz(): k8s.AuthorizationV1Api {
    return (this.authzApi ??= this.opts.kc.makeApiClient(k8s.AuthorizationV1Api));
  }

  /** Whether any action can succeed at all; the page hides buttons when not. */
  get actionsEnabled(): boolean {
    return this.tokenHash !== undefined || this.opts.tokenReview;
  }

  get methods(): string[] {
    return [
      ...(this.tokenHash ? ["dashboard-token"] : []),
      ...(this.opts.tokenReview ? ["kubernetes-token"] : []),
    ];
  }

  async authorize(req: IncomingMessage, action: ActionAttributes): Promise<AuthResult> {
    const token = bearerToken(req);
    if (!token) return { ok: false, status: 401, error: "this action needs a bearer token" };
    // Hashing first makes the comparison constant-time whatever the lengths.
    if (this.tokenHash && timingSafeEqual(sha256(token), this.tokenHash)) {
      return { ok: true, user: "dashboard-token", via: "dashboard-token" };
    }
    if (!this.opts.tokenReview) return { ok: false, status: 401, error: "invalid token" };
    let identity: Identity | null;
    try {
      identity = await this.review(token);
    } catch (err) {
      this.opts.log.warn({ err }, "TokenReview failed");
      return { ok: false, status: 503, error: "could not verify the token with the Kubernetes API" };
    }
    if (!identity) return { ok: false, status: 401, error: "invalid token" };
    try {
      const sar = await this.authz.createSubjectAccessReview({
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: identity.username,
            uid: identity.uid,
            groups: identity.groups,
            extra: identity.extra,
            resourceAttributes: {
              group: GROUP,
              resource: action.resource,
              subresource: action.subresource,
              verb: action.verb,
              namespace: action.namespace,
              name: action.name,
            },
          },
        },
      });
      if (sar.status?.allowed) return { ok: true, user: identity.username, via: "kubernetes" };
      const what = `${action.verb} ${action.resource}${action.subresource ? `/${action.subresource}` : ""}`;
      return {
        ok: false,
        status: 403,
        user: identity.username,
        error: `${identity.username} may not ${what} ${action.namespace}/${action.name}`,
      };
    } catch (err) {
      this.opts.log.warn({ err }, "SubjectAccessReview failed");
      return { ok: false, status: 503, error: "could not check permissions with the Kubernetes API" };
    }
  }

  private async review(token: string): Promise<Identity | null> {
    const id = sha256(token).toString("hex");
    const now = Date.now();
    const cached = this.reviews.get(id);
    if (cached && now - cached.at < REVIEW_TTL_MS) return cached.identity;
    const tr = await this.authn.createTokenReview({
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token, ...(this.opts.audiences.length > 0 ? { audiences: this.opts.audiences } : {}) },
      },
    });
    const user = tr.status?.user;
    const identity: Identity | null =
      tr.status?.authenticated && user?.username
        ? {
            username: user.username,
            ...(user.uid ? { uid: user.uid } : {}),
            ...(user.groups ? { groups: user.groups } : {}),
            ...(user.extra ? { extra: user.extra } : {}),
          }
        : null;
    if (this.reviews.size > 1000) this.reviews.clear();
    this.reviews.set(id, { at: now, identity });
    return identity;
  }
}

/**
 * CSRF defence in depth for requests that change something: a browser always
 * sends Origin on cross-origin POST/DELETE (and Sec-Fetch-Site on modern
 * ones), so a request from another site is refused even before the token is
 * looked at. Clients that send neither (curl, scripts) are not browsers and
 * cannot be tricked into sending the token.
 */
export function sameOrigin(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (allowed.includes(origin)) return true;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false;
    }
    return host !== "" && host === req.headers.host;
  }
  const site = req.headers["sec-fetch-site"];
  return site === undefined || site === "same-origin" || site === "none";
}
