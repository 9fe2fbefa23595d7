// The fixed held-out subset the quality bench runs on by default: 24 photos
// of the held-out set (../shared/photos/held-out, never trained on), so every
// run and every cached Gatys baseline is over the same photos. The photos
// themselves are not in the repository, only their names.
//
// The rule (heldOutSubsetOf): per source (kodak-*, sun-*), the names sorted
// by code point, every ⌊n / 12⌋-th one from the first, the first 12 of those;
// then the two lists interleaved (kodak, sun, kodak, sun, …) so that the
// first k photos (`--limit k`) hold both kinds.

/** Photos per source in the subset. */
export const PER_SOURCE = 12;
/** The sources of the held-out set, by file name prefix, in the order they alternate. */
export const SOURCES = ["kodak-", "sun-"] as const;

/** heldOutSubsetOf applied to the held-out folder on 2026-12-07 (24 kodak-*, 80 sun-*). */
export const HELD_OUT_SUBSET: readonly string[] = [
  "kodak-kodim01.jpg",
  "sun-abbey_sun_asztnlqhlrvirneh.jpg",
  "kodak-kodim03.jpg",
  "sun-beach_sun_bgtlposotyokcsdg.jpg",
  "kodak-kodim05.jpg",
  "sun-campsite_sun_agkgjmhhyqowlmdm.jpg",
  "kodak-kodim07.jpg",
  "sun-cavern_indoor_sun_agiyluxegpirbhrp.jpg",
  "kodak-kodim09.jpg",
  "sun-creek_sun_bxtonsgzegpfhnmy.jpg",
  "kodak-kodim11.jpg",
  "sun-forest_needleleaf_sun_bjpryaalypkmqtnw.jpg",
  "kodak-kodim13.jpg",
  "sun-house_sun_bgjytsucreqesmlo.jpg",
  "kodak-kodim15.jpg",
  "sun-lighthouse_sun_akeqnxvbhbktajfl.jpg",
  "kodak-kodim17.jpg",
  "sun-mountain_sun_bdgkjthkoxhovklv.jpg",
  "kodak-kodim19.jpg",
  "sun-raceway_sun_aiqqfpwsvwvwmift.jpg",
  "kodak-kodim21.jpg",
  "sun-street_sun_bkgpqbvgorkjqzgp.jpg",
  "kodak-kodim23.jpg",
  "sun-valley_sun_biwcvdiwnfimbtls.jpg",
];

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Every ⌊n / count⌋-th of the sorted names from the first, at most `count` of them (all when fewer). */
export function everyKth(names: readonly string[], count: number): string[] {
  const sorted = [...names].sort(byCodePoint);
  const step = Math.max(1, Math.floor(sorted.length / count));
  return sorted.filter((_, i) => i % step === 0).slice(0, count);
}

/** The subset rule (see the file comment) applied to a folder's file names. */
export function heldOutSubsetOf(names: readonly string[]): string[] {
  const lists = SOURCES.map((prefix) =>
    everyKth(
      names.filter((n) => n.startsWith(prefix)),
      PER_SOURCE,
    ),
  );
  const out: string[] = [];
  for (let i = 0; i < PER_SOURCE; i++)
    for (const list of lists) if (list[i] !== undefined) out.push(list[i]!);
  return out;
}

export interface PhotoSelection {
  photos: string[];
  /** Whether the committed subset was used (the folder holds all of it and --all-photos was not given). */
  subset: boolean;
  /** Set when the folder is the held-out set but the rule now picks other names than the committed list. */
  warning?: string;
}

/**
 * The photos a run uses from a folder's image files: the committed subset
 * when the folder holds every one of its photos (unless `all`), else every
 * image in the folder, sorted; then the first `limit`.
 */
export function selectPhotos(
  available: readonly string[],
  options: { all: boolean; limit?: number | undefined },
): PhotoSelection {
  const present = new Set(available);
  const useSubset = !options.all && HELD_OUT_SUBSET.every((name) => present.has(name));
  const photos = useSubset ? [...HELD_OUT_SUBSET] : [...available].sort(byCodePoint);
  const selection: PhotoSelection = {
    photos: options.limit === undefined ? photos : photos.slice(0, options.limit),
    subset: useSubset,
  };
  const rule = heldOutSubsetOf(available);
  if (useSubset && rule.join("\n") !== HELD_OUT_SUBSET.join("\n"))
    selection.warning =
      "the held-out folder has changed since the subset was committed: the rule now picks other photos " +
      "(the committed list is used, so results stay comparable)";
  return selection;
}
