// diffHost: what env:down reports when the real node left something behind.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diffHost, type HostSnapshot } from "../../env/real-node/host-state.js";

const before: HostSnapshot = {
  sysctls: { "kernel.panic": "1", "vm.overcommit_memory": "0", "net.bridge.bridge-nf-call-iptables": null },
  nftTables: { "ip filter": "table ip filter {\n}\n" },
  cgroups: { "/sys/fs/cgroup/memory": ["system.slice"] },
  mounts: ["/", "/proc"],
  links: ["eth0", "lo"],
  paths: { "/var/log/pods": false, "/run/containerd": false },
};

describe("real node: host snapshot differences", () => {
  it("an identical snapshot has no differences", () => {
    assert.deepEqual(diffHost(before, structuredClone(before)), []);
  });

  it("a table restored with nft -f equals the iptables-nft original (whitespace is not a rule)", () => {
    // As printed on this machine: CNI's chains made by iptables-nft, then
    // the same table after env:down deleted and restored it.
    const original = "table ip filter {\n\tchain CNI-FORWARD {\n\t\t counter jump CNI-ADMIN\n\t}\n}\n";
    const restored = "table ip filter {\n\tchain CNI-FORWARD {\n\t\tcounter jump CNI-ADMIN\n\t}\n}\n";
    const after = { ...structuredClone(before), nftTables: { "ip filter": restored } };
    assert.deepEqual(diffHost({ ...before, nftTables: { "ip filter": original } }, after), []);
    const dropped = "table ip filter {\n\tchain CNI-FORWARD {\n\t\tcounter drop\n\t}\n}\n";
    assert.deepEqual(
      diffHost(
        { ...before, nftTables: { "ip filter": original } },
        { ...after, nftTables: { "ip filter": dropped } },
      ),
      ["nft table ip filter: changed"],
    );
  });

  it("names every kind of leftover the kubelet and containerd make", () => {
    const after: HostSnapshot = {
      sysctls: { ...before.sysctls, "kernel.panic": "10", "vm.overcommit_memory": "1" },
      nftTables: { "ip filter": "table ip filter {\n chain KUBE-FIREWALL {\n }\n}\n", "ip mangle": "x" },
      cgroups: { "/sys/fs/cgroup/memory": ["kubepods", "system.slice"] },
      mounts: ["/", "/proc", "/run/netns/cni-1"],
      links: ["eth0", "lo", "skube0"],
      paths: { "/var/log/pods": true, "/run/containerd": false },
    };
    assert.deepEqual(diffHost(before, after), [
      "sysctl kernel.panic: 1 → 10",
      "sysctl vm.overcommit_memory: 0 → 1",
      "nft table ip filter: changed",
      "nft table ip mangle: added",
      "cgroup /sys/fs/cgroup/memory/kubepods: added",
      "mount /run/netns/cni-1: added",
      "link skube0: added",
      "/var/log/pods: added",
    ]);
  });

  it("a table or path that disappeared is a difference too", () => {
    const after: HostSnapshot = { ...structuredClone(before), nftTables: {}, paths: { ...before.paths } };
    const changed = { ...before, paths: { ...before.paths, "/run/containerd": true } };
    assert.deepEqual(diffHost(changed, after), ["nft table ip filter: removed", "/run/containerd: removed"]);
  });
});
