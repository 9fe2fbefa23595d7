// The tail of a timed-out wait's error: why the awaited thing did not
// happen, asked once when the time is up (test/support/pod-diagnosis.ts for
// pods). A failure to explain is said, never thrown over the timeout.

export type Explain = () => Promise<string>;

export async function explanation(explain: Explain | undefined): Promise<string> {
  if (!explain) return "";
  try {
    return `\nwhy:\n${await explain()}`;
  } catch (err) {
    return `\nwhy: unknown (explaining failed: ${err instanceof Error ? err.message : String(err)})`;
  }
}
