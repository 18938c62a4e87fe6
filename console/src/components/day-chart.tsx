import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber, t } from '../i18n';

export interface DayCount {
  /** The day, YYYY-MM-DD (UTC). */
  day: string;
  count: number;
}

/**
 * Activities per day as bars (uPlot, on a canvas), with the same figures in words for screen readers: the canvas
 * itself is hidden from them.
 */
export function DayChart({ days }: { days: DayCount[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || !days.length) return;
    const width = Math.max(320, box.current.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          // Half a day on either side, so that the first and last bars show whole.
          x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
        axes: [{}, { values: (_u, ticks) => ticks.map((tick) => formatNumber(tick)) }],
        series: [
          {},
          {
            label: t('perDay'),
            stroke: '#1d4ed8',
            fill: 'rgba(29, 78, 216, 0.35)',
            paths: uPlot.paths.bars!({ size: [0.7, 40] }),
            points: { show: false },
          },
        ],
      },
      [days.map((entry) => Date.parse(`${entry.day}T00:00:00Z`) / 1000), days.map((entry) => entry.count)],
      box.current,
    );
    return () => plot.destroy();
  }, [days]);

  const total = days.reduce((sum, entry) => sum + entry.count, 0);
  const busiest = days.reduce(
    (best, entry) => (entry.count > best.count ? entry : best),
    days[0] ?? { day: '', count: 0 },
  );
  return (
    <figure class="chart">
      <figcaption>{t('perDay')}</figcaption>
      <div ref={box} aria-hidden="true" />
      {days.length > 0 && (
        <p class="visually-hidden">
          {t('chartSummary', {
            total: formatNumber(total),
            from: days[0].day,
            to: days[days.length - 1].day,
            day: busiest.day,
            max: formatNumber(busiest.count),
          })}
        </p>
      )}
    </figure>
  );
}
