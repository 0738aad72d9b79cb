/** The bench's one table (Markdown, so it pastes into the README) and its rows' verdicts. */

export interface Target {
  /** `max`: the ratio (or, without a baseline, the measured value) must not exceed `limit`; `min`: not fall below. */
  kind: 'max' | 'min';
  limit: number;
  /** Whether the limit applies to the ratio or to the measured value. */
  on: 'ratio' | 'measured';
}

export interface Row {
  metric: string;
  measured: number;
  baseline?: number;
  unit: string;
  target?: Target;
  notes?: string;
}

export const ratioOf = (row: Row): number | undefined =>
  row.baseline === undefined || row.baseline === 0 ? undefined : row.measured / row.baseline;

export function isMet(row: Row): boolean | undefined {
  const { target } = row;
  if (target === undefined) return undefined;
  const value = target.on === 'ratio' ? ratioOf(row) : row.measured;
  if (value === undefined || Number.isNaN(value)) return false;
  return target.kind === 'max' ? value <= target.limit : value >= target.limit;
}

/** Three significant figures, without exponent noise. */
function formatNumber(value: number | undefined): string {
  if (value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude === 0) return '0';
  return value.toPrecision(3);
}

function formatTarget(target: Target | undefined, unit: string): string {
  if (target === undefined) return '—';
  const sign = target.kind === 'max' ? '≤' : '≥';
  return target.on === 'ratio' ? `ratio ${sign} ${target.limit}` : `${sign} ${target.limit} ${unit}`;
}

export function renderTable(rows: Row[]): string {
  const header = ['metric', 'measured', 'baseline', 'ratio', 'target', 'met?', 'notes'];
  const lines = rows.map((row) => {
    const met = isMet(row);
    return [
      row.metric,
      `${formatNumber(row.measured)} ${row.unit}`.trim(),
      row.baseline === undefined ? '—' : `${formatNumber(row.baseline)} ${row.unit}`.trim(),
      formatNumber(ratioOf(row)),
      formatTarget(row.target, row.unit),
      met === undefined ? '—' : met ? 'yes' : '**no**',
      row.notes ?? '',
    ];
  });
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)));
  const render = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...lines.map(render)].join('\n');
}
