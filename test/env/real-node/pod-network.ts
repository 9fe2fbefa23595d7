// The pod network: a bridge the environment makes itself, with the host's
// address on it, and a CNI config (Debian's bridge + host-local plugins) that
// attaches pods to it. isGateway is off and no routes are given, so a pod
// reaches the bridge's subnet (the host at .1, other pods) and nothing else;
// nothing is masqueraded and IP forwarding stays as it was.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { POD_NETWORK, REAL_NODE } from "./layout.js";

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function createBridge(): void {
  const { bridge, hostAddress, prefixLength } = POD_NETWORK;
  if (ip(["-o", "link", "show"]).includes(` ${bridge}:`)) ip(["link", "delete", bridge]);
  ip(["link", "add", bridge, "type", "bridge"]);
  ip(["addr", "add", `${hostAddress}/${prefixLength}`, "dev", bridge]);
  ip(["link", "set", bridge, "up"]);
}

export function writeCniConfig(): void {
  mkdirSync(REAL_NODE.cniConfDir, { recursive: true });
  mkdirSync(REAL_NODE.cniIpamDir, { recursive: true });
  const conf = {
    cniVersion: "0.4.0",
    name: "stylekube-pods",
    plugins: [
      {
        type: "bridge",
        bridge: POD_NETWORK.bridge,
        isGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          dataDir: REAL_NODE.cniIpamDir,
          ranges: [[{ subnet: POD_NETWORK.subnet, gateway: POD_NETWORK.hostAddress }]],
        },
      },
    ],
  };
  writeFileSync(join(REAL_NODE.cniConfDir, "10-stylekube.conflist"), `${JSON.stringify(conf, null, 2)}\n`);
}
