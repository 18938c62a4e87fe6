export const LANGUAGES = ['en', 'th', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];

/**
 * Picks English, Thai or German from an `Accept-Language` header: the supported language with the highest q-weight
 * wins (`th-TH` counts as `th`, `q=0` means not acceptable, ties go to the earlier entry); none of them: English.
 */
export function pickLanguage(header: string | string[] | undefined): Language {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return 'en';
  let best: { language: Language; q: number } | undefined;
  for (const part of value.split(',')) {
    const [tag, ...params] = part.trim().split(';');
    const primary = tag.trim().toLowerCase().split('-')[0] as Language;
    if (!(LANGUAGES as readonly string[]).includes(primary)) continue;
    const qParam = params.map((param) => param.trim()).find((param) => param.toLowerCase().startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0 || q > 1) continue;
    if (!best || q > best.q) best = { language: primary, q };
  }
  return best?.language ?? 'en';
}
