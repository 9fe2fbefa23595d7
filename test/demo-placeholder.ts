// `npm run demo` is the README's first command. The end-to-end demo (pack a
// small dataset, train with 2 local workers, serve, stylise a photo, open the
// dashboard) lands with the "Ship it" issue; until then this says so plainly.
console.error(
  [
    "stylekube demo: not there yet.",
    "The one-command demo (train a style with 2 local workers, serve it, stylise a photo)",
    "arrives with the trainer, serving and dashboard work. Today you can:",
    "  npm run env:up   # start NATS, MinIO and a real Kubernetes control plane locally",
    "  kubectl --kubeconfig .stylekube/kubeconfig apply -f manifests/crds/",
    "  npm test         # the test suite",
  ].join("\n"),
);
process.exitCode = 1;
