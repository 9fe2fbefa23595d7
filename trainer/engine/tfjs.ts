/**
 * The one place that makes tfjs usable for *training* under Node ESM.
 *
 * Import this module (for its side effects) before any tf.variableGrads or
 * optimizer call. Model and loss code imports ops from "@tensorflow/tfjs-core"
 * directly; this module only has to have been loaded once per process.
 *
 * Why not "@tensorflow/tfjs-core/dist/register_all_gradients.js": under Node
 * the package's `main` is the CommonJS bundle `tf-core.node.js`, which holds
 * the ops but neither the gradient registrations nor the chained ops. Their
 * files under dist/ are ES modules with extension-less and directory imports
 * (`./gradients`) in a package without `"type": "module"`, so Node's ESM
 * loader refuses them (ERR_UNSUPPORTED_DIR_IMPORT). The union package
 * `@tensorflow/tfjs` is tfjs's own answer for Node: its `tf.node.js` bundle
 * inlines those registrations and writes them into tfjs's process-wide
 * registries (kept on globalThis, so they apply to the tfjs-core copy the
 * backends use). Its other parts (layers, converter, data) are loaded but
 * not used; the webgl backend registers itself only in a browser.
 */
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs";
