// Containers a provider started are labelled with their owner (the
// environment's directory, or a test's own id), so that they can be removed
// by the podman CLI even when the process that started them is gone (an
// interrupted env:up, a killed test) and there is no Ryuk to reap them.
import { podman } from "../podman.js";

export const OWNER_LABEL = "dev.stylekube.test-env";

/** Force-removes every container labelled with `owner`; returns their IDs. */
export function removeOwnedContainers(owner: string): string[] {
  const ids = podman(["ps", "-a", "-q", "--filter", `label=${OWNER_LABEL}=${owner}`])
    .split("\n")
    .filter((id) => id !== "");
  if (ids.length > 0) podman(["rm", "-f", "-t", "0", ...ids]);
  return ids;
}
