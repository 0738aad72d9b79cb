/**
 * Per model, how long the provider took on past generations (provider accepted →
 * provider done), from the records on the page, as a small bar chart: a y axis of
 * provider time with ticks at round values, an x axis of the runs, oldest first.
 */
import type { Generation } from './api.js';
import { el, svg } from './dom.js';
import { formatDuration } from './format.js';
import { providerSeconds } from './timeline.js';

/** The newest runs that fit the chart's width. */
const MAX_BARS = 30;
/** The plot area; the margins hold the axes' ticks and labels. */
const WIDTH = 300;
const HEIGHT = 64;
const BAR_GAP = 2;
const MARGIN = { top: 6, right: 4, bottom: 26, left: 40 };
/** Tick steps in seconds: round values a person reads at a glance. */
const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const MAX_TICKS = 4;

interface Run {
  id: string;
  seconds: number;
  at: string;
}

export function providerDurationCharts(models: readonly string[], records: readonly Generation[]): HTMLElement {
  return el(
    'section',
    { class: 'panel charts', 'aria-labelledby': 'charts-title' },
    el('h2', { id: 'charts-title' }, 'Provider time per model'),
    el('p', { class: 'help' }, 'Provider accepted → provider done, for the generations listed, oldest first.'),
    ...models.map((model) => modelChart(model, runsOf(model, records))),
  );
}

function runsOf(model: string, records: readonly Generation[]): Run[] {
  return records
    .filter((record) => record.model === model)
    .flatMap((record) => {
      const seconds = providerSeconds(record.timeline);
      const at = record.timeline.provider_accepted;
      return seconds === null || at === undefined ? [] : [{ id: record.id, seconds, at }];
    })
    .sort((a, b) => a.at.localeCompare(b.at))
    .slice(-MAX_BARS);
}

function modelChart(model: string, runs: Run[]): HTMLElement {
  const heading = el('h3', {}, el('code', {}, model));
  if (runs.length === 0) {
    return el('figure', { class: 'chart', 'data-model': model }, heading, el('p', { class: 'help' }, 'No finished provider runs yet.'));
  }
  const seconds = runs.map((run) => run.seconds);
  const longest = Math.max(...seconds);
  const summary = `${runs.length} run${runs.length === 1 ? '' : 's'} · median ${formatDuration(median(seconds) * 1000)} · longest ${formatDuration(longest * 1000)}`;
  const barWidth = (WIDTH - BAR_GAP * (MAX_BARS - 1)) / MAX_BARS;
  const ticks = yTicks(longest);
  const top = ticks[ticks.length - 1] ?? longest;
  const scale = top > 0 ? HEIGHT / top : 0;
  const bars = runs.map((run, index) => {
    const height = Math.max(1, run.seconds * scale);
    return svg(
      'rect',
      { class: 'bar', x: (index * (barWidth + BAR_GAP)).toFixed(1), y: (HEIGHT - height).toFixed(1), width: barWidth.toFixed(1), height: height.toFixed(1), rx: 1 },
      svg('title', {}, `${run.id}: ${formatDuration(run.seconds * 1000)}`),
    );
  });
  const barCenter = (index: number): string => (index * (barWidth + BAR_GAP) + barWidth / 2).toFixed(1);
  // The first and the last run are numbered; a tick marks every run.
  const xTicks = runs.map((_, index) =>
    svg(
      'g',
      { class: 'tick tick-x' },
      svg('line', { x1: barCenter(index), y1: HEIGHT, x2: barCenter(index), y2: HEIGHT + 3 }),
      index === 0 || index === runs.length - 1 ? svg('text', { x: barCenter(index), y: HEIGHT + 12, 'text-anchor': 'middle' }, String(index + 1)) : null,
    ),
  );
  const yTickMarks = ticks.map((value) => {
    const y = (HEIGHT - value * scale).toFixed(1);
    return svg(
      'g',
      { class: 'tick tick-y' },
      svg('line', { class: 'grid', x1: 0, y1: y, x2: WIDTH, y2: y }),
      svg('line', { x1: -3, y1: y, x2: 0, y2: y }),
      svg('text', { x: -5, y, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, value === 0 ? '0' : formatDuration(value * 1000)),
    );
  });
  const outerWidth = MARGIN.left + WIDTH + MARGIN.right;
  const outerHeight = MARGIN.top + HEIGHT + MARGIN.bottom;
  return el(
    'figure',
    { class: 'chart', 'data-model': model },
    heading,
    svg(
      'svg',
      { viewBox: `0 0 ${outerWidth} ${outerHeight}`, width: outerWidth, height: outerHeight, role: 'img', 'aria-label': `${model}: ${summary}` },
      svg(
        'g',
        { transform: `translate(${MARGIN.left} ${MARGIN.top})` },
        ...yTickMarks,
        ...bars,
        svg('line', { class: 'axis axis-x', x1: 0, y1: HEIGHT + 0.5, x2: WIDTH, y2: HEIGHT + 0.5 }),
        svg('line', { class: 'axis axis-y', x1: -0.5, y1: 0, x2: -0.5, y2: HEIGHT + 0.5 }),
        ...xTicks,
        svg('text', { class: 'axis-label', x: WIDTH / 2, y: HEIGHT + 23, 'text-anchor': 'middle' }, 'run, oldest first'),
      ),
      svg('text', { class: 'axis-label', x: 0, y: 0, transform: `translate(9 ${MARGIN.top + HEIGHT / 2}) rotate(-90)`, 'text-anchor': 'middle' }, 'provider time'),
    ),
    el('figcaption', {}, summary),
  );
}

/** Round tick values from 0 up to at least `longest`, at most MAX_TICKS + 1 of them. */
function yTicks(longest: number): number[] {
  if (longest <= 0) return [0];
  const step = STEPS.find((candidate) => longest / candidate <= MAX_TICKS) ?? Math.ceil(longest / MAX_TICKS / 3600) * 3600;
  const count = Math.ceil(longest / step);
  return Array.from({ length: count + 1 }, (_, index) => index * step);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
