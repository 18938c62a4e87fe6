import { de } from './de';
import { en, MessageKey } from './en';
import { th } from './th';

const CATALOGS = { en, th, de } as const;
export type Language = keyof typeof CATALOGS;

/** The first of the browser's languages that the console speaks (a region counts as its language), else English. */
export function pickLanguage(preferred: readonly string[] = navigator.languages): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    if (base in CATALOGS) return base as Language;
  }
  return 'en';
}

export const language: Language = pickLanguage();

/** The message `key` in the browser's language, with `{name}` placeholders filled from `values`. */
export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  return CATALOGS[language][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
}

/** Dates and numbers as the browser's language writes them. */
export const formatTime = (iso: string) =>
  new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(iso));
export const formatNumber = (value: number) => new Intl.NumberFormat(language).format(value);
