import { t } from '../i18n';

export function ComingSoon() {
  return (
    <section>
      <p>{t('comingSoon')}</p>
    </section>
  );
}
