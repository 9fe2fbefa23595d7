// Images of the test environment's own servers for the testcontainers
// provider: nothing can be pulled here, so each is made from the static
// binary build-tools.sh already built (CGO_ENABLED=0), `FROM scratch` like
// the real node's pause image. Tagged with the pinned version, built once.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { podman, podmanHasImage } from "../podman.js";
import { pinnedVersion, type Tools } from "../tools.js";

export interface ServerImages {
  nats: string;
  minio: string;
}

/** Tag podman would give `name`; lower case and `+` free, as image references require. */
function imageName(server: string, version: string): string {
  return `localhost/stylekube/test-${server}:${version.toLowerCase().replace(/[^a-z0-9_.-]/g, "-")}`;
}

/**
 * An unprivileged user (nobody) and nothing but the binary: the containers
 * run with a read-only root and write only to their tmpfs mounts.
 */
function buildServerImage(name: string, binary: string): void {
  const ctx = mkdtempSync(join(tmpdir(), "stylekube-test-server-"));
  try {
    copyFileSync(binary, join(ctx, "server"));
    writeFileSync(
      join(ctx, "Containerfile"),
      'FROM scratch\nCOPY server /server\nUSER 65534:65534\nENTRYPOINT ["/server"]\n',
    );
    podman(["build", "--network", "none", "-q", "-t", name, ctx]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

export function ensureServerImages(tools: Tools): ServerImages {
  const images: ServerImages = {
    nats: imageName("nats-server", pinnedVersion("NATS_VERSION")),
    minio: imageName("minio", pinnedVersion("MINIO_VERSION")),
  };
  if (!podmanHasImage(images.nats)) buildServerImage(images.nats, tools.bin["nats-server"]);
  if (!podmanHasImage(images.minio)) buildServerImage(images.minio, tools.bin.minio);
  return images;
}
