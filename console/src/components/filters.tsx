import { useState } from 'preact/hooks';
import { t } from '../i18n';

/**
 * A filter form's state: what is typed (`draft`) and what is applied (`filters`, which the list reads), the
 * props that bind an input or select to a field, and submitting and clearing.
 */
export function useFilters<F extends { [K in keyof F]: string }>(none: F) {
  const [draft, setDraft] = useState<F>(none);
  const [filters, setFilters] = useState<F>(none);
  return {
    filters,
    field: (name: keyof F) => ({
      value: draft[name],
      onInput: (event: Event) => setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value }),
    }),
    apply: (event: Event) => {
      event.preventDefault();
      setFilters(draft);
    },
    clear: () => {
      setDraft(none);
      setFilters(none);
    },
  };
}

/** `Apply` (the form's submit) and `Clear`. */
export function FilterButtons({ onClear }: { onClear: () => void }) {
  return (
    <div class="buttons">
      <button type="submit">{t('apply')}</button>
      <button type="button" class="secondary" onClick={onClear}>
        {t('clear')}
      </button>
    </div>
  );
}
