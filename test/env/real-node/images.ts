// Images for the real node, which pulls nothing: the pause (sandbox) image
// made from the static binary build-tools.sh builds, and the project's images
// from podman's store, moved in with `podman save` → `ctr images import`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildScratchImage, podman } from "../podman.js";
import { containerdImages, importImages } from "./containerd.js";

/** `FROM scratch` + the pause binary, saved next to it; returns the image name. */
export function pauseImageArchive(pauseBinary: string, tag: string): { name: string; archive: string } {
  const name = `localhost/stylekube/pause:${tag}`;
  const archive = join(resolve(pauseBinary, "../.."), "pause-image.tar");
  if (existsSync(archive)) return { name, archive };
  buildScratchImage(name, pauseBinary, "65535:65535");
  podman(["save", "-q", "-o", `${archive}.tmp`, name]);
  execFileSync("mv", [`${archive}.tmp`, archive]);
  return { name, archive };
}

/**
 * Moves images from podman's store into the node's containerd (same names),
 * skipping those containerd already has: the CRI plugin names every image
 * also by its ID (`sha256:<config digest>`), which is podman's image ID too.
 * Returns the names it loaded.
 */
export function loadPodmanImages(names: string[]): string[] {
  const present = containerdImages();
  const missing = names.filter((name) => {
    const id = podman(["image", "inspect", "--format", "{{.Id}}", name]).trim();
    return !(present.has(name) && present.has(`sha256:${id}`));
  });
  if (missing.length > 0) importPodmanImages(missing);
  return missing;
}

function importPodmanImages(names: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "stylekube-images-"));
  try {
    const archive = join(dir, "images.tar");
    podman(["save", "-q", "-m", "-o", archive, ...names]);
    importImages(archive);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
