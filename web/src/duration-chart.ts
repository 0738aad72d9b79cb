/**
 * Per model, how long the provider took on past generations (provider accepted →
 * provider done), from the records on the page, as a small bar chart.
 */
import type { Generation } from './api.js';
import { el, svg } from './dom.js';
import { formatDuration } from './format.js';
import { providerSeconds } from './timeline.js';

/** The newest runs that fit the chart's width. */
const MAX_BARS = 30;
const WIDTH = 300;
const HEIGHT = 64;
const BAR_GAP = 2;

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
  const scale = longest > 0 ? (HEIGHT - 4) / longest : 0;
  const bars = runs.map((run, index) => {
    const height = Math.max(1, run.seconds * scale);
    return svg(
      'rect',
      { class: 'bar', x: (index * (barWidth + BAR_GAP)).toFixed(1), y: (HEIGHT - height).toFixed(1), width: barWidth.toFixed(1), height: height.toFixed(1), rx: 1 },
      svg('title', {}, `${run.id}: ${formatDuration(run.seconds * 1000)}`),
    );
  });
  return el(
    'figure',
    { class: 'chart', 'data-model': model },
    heading,
    svg(
      'svg',
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: 'img', 'aria-label': `${model}: ${summary}` },
      svg('line', { class: 'axis', x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5 }),
      ...bars,
    ),
    el('figcaption', {}, summary),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
