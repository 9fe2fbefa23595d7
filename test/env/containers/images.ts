// Images of the test environment's own servers for the testcontainers
// provider: nothing can be pulled here, so each is made from the static
// binary build-tools.sh already built (CGO_ENABLED=0), `FROM scratch` like
// the real node's pause image. Tagged with the pinned version, built once.
import { buildScratchImage, podmanHasImage } from "../podman.js";
import { pinnedVersion, type Tools } from "../tools.js";

export interface ServerImages {
  nats: string;
  minio: string;
}

/** Tag podman would give `name`; lower case and `+` free, as image references require. */
function imageName(server: string, version: string): string {
  return `localhost/stylekube/test-${server}:${version.toLowerCase().replace(/[^a-z0-9_.-]/g, "-")}`;
}

const NOBODY = "65534:65534";

export function ensureServerImages(tools: Tools): ServerImages {
  const images: ServerImages = {
    nats: imageName("nats-server", pinnedVersion("NATS_VERSION")),
    minio: imageName("minio", pinnedVersion("MINIO_VERSION")),
  };
  // nobody: the containers run with a read-only root and write only to their tmpfs mounts.
  if (!podmanHasImage(images.nats)) buildScratchImage(images.nats, tools.bin["nats-server"], NOBODY);
  if (!podmanHasImage(images.minio)) buildScratchImage(images.minio, tools.bin.minio, NOBODY);
  return images;
}
