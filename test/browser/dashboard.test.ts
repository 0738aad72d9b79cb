/**
 * The dashboard of `reelhook dev` in real headless Chromium (Debian's `chromium`,
 * driven by playwright-core) against a real local stack on loopback: sign in, start a
 * generation through the form, watch it complete and play our copy.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_DIST } from '../../local/dashboard.js';
import { REPO_ROOT, startLocalStack, type LocalStack } from '../../local/stack.js';
import { api } from '../support/http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps dialling Google's hosts, which this machine refuses. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The README's picture, rewritten only on request (REELHOOK_UPDATE_SCREENSHOT=1), so a test run leaves the tree as it was. */
const SCREENSHOT = join(REPO_ROOT, 'docs', 'dashboard.png');
const UPDATE_SCREENSHOT = process.env.REELHOOK_UPDATE_SCREENSHOT === '1';
const V1 = 'kling-video/v1/standard/text-to-video';
const V16 = 'kling-video/v1.6/standard/text-to-video';
/** Bounded waits for what the page shows; a simulated generation takes about a second. */
const UI_TIMEOUT_MS = 15_000;

let stack: LocalStack;
let receiver: WebhookReceiver;
let context: BrowserContext;
let page: Page;
let dataDir: string;
let profileDir: string;

beforeAll(async () => {
  // Fail, never skip: a missing browser must not turn this suite green.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (.ci/run does this)`);
  }
  if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) {
    throw new Error(`the dashboard is not built (${DASHBOARD_DIST}): run npm run build:web (npm ci runs it)`);
  }
  dataDir = await mkdtemp(join(tmpdir(), 'reelhook-dashboard-'));
  profileDir = await mkdtemp(join(tmpdir(), 'reelhook-chromium-'));
  receiver = await startWebhookReceiver();
  stack = await startLocalStack({ dataDir, waitScale: 0, simulator: { processingSeconds: 1 } });
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await context?.close();
  await stack?.close();
  await receiver?.close();
  for (const dir of [dataDir, profileDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** The parts of HTMLMediaElement read in the page (this file is typed for Node, without the DOM's types). */
interface MediaState {
  readyState: number;
  currentSrc: string;
}

/** The parts of an element read in the page. */
interface PageElement {
  dataset: { id?: string };
  getBoundingClientRect(): { top: number };
}
const cardTop = (locator: ReturnType<Page['locator']>): Promise<number> => locator.evaluate((element) => (element as unknown as PageElement).getBoundingClientRect().top);

const field = (name: string) => page.locator(`[data-field="${name}"]`);
const card = (id: string) => page.locator(`article.generation[data-id="${id}"]`);

/** POSTs a generation through the API (not the form) and returns its id. */
async function startGeneration(body: Record<string, unknown>): Promise<string> {
  const created = await api(stack.url, 'POST', '/v2/video/generations', { apiKey: stack.apiKey, body });
  expect(created.status).toBe(200);
  return created.json.id as string;
}

describe('the dashboard of reelhook dev', () => {
  it('serves a page that holds no API key, with its content type and cache headers', async () => {
    const response = await fetch(`${stack.url}/`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(html).not.toContain(stack.apiKey);

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${stack.url}${script}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await asset.text()).includes(stack.apiKey)).toBe(false);
  });

  it('rejects a wrong key with the API message and keeps the right one in sessionStorage', async () => {
    await page.goto(`${stack.url}/`);
    await page.getByLabel('API key').fill('rk_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: UI_TIMEOUT_MS }).toContain('Unauthorized');

    await page.getByLabel('API key').fill(stack.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'New generation' }).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await page.evaluate<string | null>("sessionStorage.getItem('reelhook.apiKey')")).toBe(stack.apiKey);
    expect(await page.content()).not.toContain(stack.apiKey);
  });

  it("signs in from dev's link with the key in the fragment, then drops it from the address bar", async () => {
    // A new tab: its sessionStorage starts empty, so only the link can sign it in.
    const tab = await context.newPage();
    try {
      await tab.goto(`${stack.url}/#key=${stack.apiKey}`);
      await tab.getByRole('heading', { name: 'New generation' }).waitFor({ timeout: UI_TIMEOUT_MS });
      expect(tab.url()).toBe(`${stack.url}/`);
      expect(await tab.evaluate<string>('location.href')).not.toContain(stack.apiKey);
      expect(await tab.evaluate<string | null>("sessionStorage.getItem('reelhook.apiKey')")).toBe(stack.apiKey);
    } finally {
      await tab.close();
    }
  });

  it("starts the form on the CLI's default model (reelhook generate without --model)", async () => {
    expect(await page.locator('#model').inputValue()).toBe(V16);
    await field('duration').waitFor({ timeout: UI_TIMEOUT_MS });
  });

  it('offers the fields of the chosen model only, keeping what was typed', async () => {
    await field('prompt').locator('textarea').fill('A raccoon');
    await page.locator('#model').selectOption(V1);
    await field('camera_control').waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await field('advanced_camera_control').count()).toBe(1);

    await page.locator('#model').selectOption(V16);
    await field('camera_control').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    expect(await field('prompt').locator('textarea').inputValue()).toBe('A raccoon');
    for (const name of ['prompt', 'duration', 'aspect_ratio', 'negative_prompt', 'cfg_scale', 'callback_url', 'callback_events', 'metadata', 'timeout_seconds']) {
      expect(await field(name).count(), name).toBe(1);
    }
  });

  it("shows the API's own ValidationError messages next to the fields they name", async () => {
    await field('cfg_scale').locator('input').fill('2');
    await field('metadata').locator('textarea').fill('{not json');
    await page.getByRole('button', { name: 'Generate' }).click();

    const cfgScaleError = field('cfg_scale').locator('.field-error');
    await cfgScaleError.waitFor({ timeout: UI_TIMEOUT_MS });
    // The same body straight to the API: the page shows exactly its messages.
    const direct = await api(stack.url, 'POST', '/v2/video/generations', {
      apiKey: stack.apiKey,
      body: { model: V16, prompt: 'A raccoon', duration: 5, aspect_ratio: '16:9', cfg_scale: 2, metadata: '{not json', callback_events: ['generation.completed', 'generation.failed'] },
    });
    expect(direct.status).toBe(400);
    const messages = new Map<string, string>(direct.json.error.details.map((issue: { field: string; message: string }) => [issue.field, issue.message]));
    expect(await cfgScaleError.textContent()).toBe(messages.get('cfg_scale'));
    expect(await field('metadata').locator('.field-error').textContent()).toBe(messages.get('metadata'));
    expect(await page.locator('.form-problems').textContent()).toContain(direct.json.error.message);
    expect(await page.locator('article.generation').count()).toBe(0);
  });

  it('shows a failed generation with its error name and message', async () => {
    const id = await startGeneration({ model: V16, prompt: 'A storm over the sea [sim:status-error]' });
    const failed = card(id);
    await failed.locator('.generation-error').waitFor({ timeout: UI_TIMEOUT_MS });
    const done = await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey });
    expect(done.json.status).toBe('error');
    expect(await failed.locator('.generation-error').textContent()).toBe(`${done.json.error.name}: ${done.json.error.message}`);
    expect(await failed.locator('[data-step="failed"] time').count()).toBe(1);
  });

  it('shows the Steps of a run once opened: the states entered with their durations, and a retry with its error', async () => {
    // The first status check answers 502: Check Status fails with ProviderUnavailable and is retried.
    const id = await startGeneration({ model: V1, prompt: 'A heron in the reeds [sim:status-502*1]' });
    const steps = card(id).locator('details.steps');
    await steps.waitFor();
    expect(await steps.getAttribute('open')).toBeNull();
    // Opened while it runs, it keeps up with the run until the run ends.
    await steps.locator('summary').click();
    const list = card(id).getByRole('list', { name: `Steps of ${id}` });
    await list.locator('[data-state="Generation Completed"]').waitFor();
    const names = await list.locator(':scope > li .steps-name').allTextContents();
    for (const [before, after] of [['Submit Generation', 'Check Status'], ['Check Status', 'Wait For Provider'], ['Check Status', 'Copy Video'], ['Copy Video', 'Generation Completed']]) {
      expect(names.indexOf(before!), `${before} before ${after}`).toBeGreaterThanOrEqual(0);
      expect(names.indexOf(before!), `${before} before ${after}`).toBeLessThan(names.lastIndexOf(after!));
    }
    expect(await list.locator('[data-state="Wait For Provider"] .steps-type').first().textContent()).toBe('Wait');
    for (const duration of await list.locator(':scope > li .steps-duration').allTextContents()) expect(duration).toMatch(/^\d+(\.\d)? (ms|s)$/);
    const retry = list.locator('[data-state="Check Status"] .steps-retry');
    expect(await retry.count()).toBe(1);
    expect(await retry.textContent()).toMatch(/^Retried: ProviderUnavailable: .*answered 502/);
  });

  it('reads no history while Steps is closed, and says so when the history is unavailable', async () => {
    const id = await startGeneration({ model: V1, prompt: 'A moth at a lamp' });
    const historyPath = `/v2/video/generations/${id}/history`;
    const reads: string[] = [];
    const onRequest = (request: { url(): string }) => {
      if (new URL(request.url()).pathname === historyPath) reads.push(request.url());
    };
    page.on('request', onRequest);
    try {
      await page.locator(`article.generation[data-id="${id}"][data-status="completed"]`).waitFor();
      expect(reads).toEqual([]);
      // Past Step Functions' retention the route answers 404: the page shows the server's own 404 for an unknown run.
      const gone = await api(stack.url, 'GET', '/v2/video/generations/gen_00000000000000000000000000/history', { apiKey: stack.apiKey });
      expect(gone.status).toBe(404);
      await page.route(`**${historyPath}`, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify(gone.json) }));
      await card(id).locator('details.steps summary').click();
      await expect
        .poll(() => card(id).locator('.steps-message').textContent(), { timeout: UI_TIMEOUT_MS })
        .toBe(`History unavailable: ${gone.json.error.name}: ${gone.json.error.message}`);
      expect(reads.length).toBeGreaterThan(0);
    } finally {
      page.off('request', onRequest);
      await page.unrouteAll();
    }
  });

  it('cancels an in-flight generation from its card', async () => {
    const id = await startGeneration({ model: V16, prompt: 'A sunrise that never ends [sim:status-never]' });
    await card(id).getByRole('button', { name: `Cancel generation ${id}` }).click();
    await page.locator(`article.generation[data-id="${id}"][data-status="error"]`).waitFor();
    expect(await card(id).locator('.generation-error').textContent()).toMatch(/^Cancelled: /);
    expect(await card(id).getByRole('button', { name: `Cancel generation ${id}` }).isHidden()).toBe(true);
  });

  it('shows the webhook of a running generation as pending, not none', async () => {
    const id = await startGeneration({ model: V16, prompt: 'A clock that never strikes [sim:status-never]', callback_url: `${receiver.url}/pending` });
    await page.locator(`article.generation[data-id="${id}"][data-status="generating"]`).waitFor();
    const record = (await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey })).json;
    expect(record.callback).toMatchObject({ state: 'none', attempts: 0 });
    expect(await card(id).locator('.webhook .badge').textContent()).toBe('pending');
    // Cancelled, it ends: its webhook goes out and the card shows how that went.
    expect((await api(stack.url, 'DELETE', `/v2/video/generations/${id}`, { apiKey: stack.apiKey })).status).toBe(200);
    await page.locator(`article.generation[data-id="${id}"][data-status="error"]`).waitFor();
    await expect.poll(() => card(id).locator('.webhook .badge').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('delivered');
  });

  it('shows a running generation as a progress bar with its ETA, not a static message', async () => {
    const id = await startGeneration({ model: V16, prompt: 'A glacier, slowly [sim:status-never]' });
    const progress = card(id).locator('.progress');
    await card(id).locator('.progress[data-progress]:not([data-progress="unknown"])').waitFor();
    const record = (await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey })).json;
    expect(record.estimate).toMatchObject({ basis: expect.stringMatching(/^(learned|default)$/) });
    const bar = card(id).getByRole('progressbar', { name: `Progress of ${id}` });
    expect(Number(await bar.getAttribute('value'))).toBeGreaterThanOrEqual(0);
    await expect.poll(() => progress.textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/^Generating · provider \S+ · .+ elapsed · ETA .+ \(p90 .+\) · \d+ status checks?$/);
    expect(await card(id).textContent()).not.toContain('Generating…');

    // Once it has ended the bar gives way to the outcome.
    expect((await api(stack.url, 'DELETE', `/v2/video/generations/${id}`, { apiKey: stack.apiKey })).status).toBe(200);
    await page.locator(`article.generation[data-id="${id}"][data-status="error"]`).waitFor();
    expect(await progress.count()).toBe(0);
  });

  it('starts a generation from the form and plays our copy once it completes', async () => {
    const prompt = 'A cheerful white raccoon running through a sequoia forest';
    await field('prompt').locator('textarea').fill(prompt);
    await field('cfg_scale').locator('input').fill('0.5');
    await field('metadata').locator('textarea').fill('{"order": 42}');
    await field('callback_url').locator('input').fill(`${receiver.url}/hooks`);
    // A short window scrolled down to the button: the new card, at the top of the list, is out of sight.
    await page.setViewportSize({ width: 1280, height: 400 });
    await page.getByRole('button', { name: 'Generate' }).scrollIntoViewIfNeeded();
    await page.getByRole('button', { name: 'Generate' }).click();

    const started = await page.locator('.form-status').filter({ hasText: 'Started gen_' }).textContent({ timeout: UI_TIMEOUT_MS });
    const id = /gen_[A-Za-z0-9]+/.exec(started ?? '')?.[0] as string;
    const generation = card(id);
    // The page scrolls to the new card.
    await expect
      .poll(async () => Math.round(await cardTop(generation)), { timeout: UI_TIMEOUT_MS })
      .toBeGreaterThanOrEqual(0);
    expect(await cardTop(generation)).toBeLessThan(400);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator(`article.generation[data-id="${id}"][data-status="completed"]`).waitFor({ timeout: UI_TIMEOUT_MS });
    // Newest first: the form's generation heads the list.
    expect(await page.locator('article.generation').first().getAttribute('data-id')).toBe(id);

    const video = generation.locator('video');
    // HAVE_CURRENT_DATA: Chromium fetched and decoded our copy from the URL in the record.
    await expect.poll(() => video.evaluate((element) => (element as unknown as MediaState).readyState), { timeout: UI_TIMEOUT_MS }).toBeGreaterThanOrEqual(2);

    const record = (await api(stack.url, 'GET', `/v2/video/generations/${id}`, { apiKey: stack.apiKey })).json;
    expect(record).toMatchObject({ status: 'completed', prompt, model: V16, metadata: { order: 42 } });
    expect(record.params.cfg_scale).toBe(0.5);
    expect(new URL(await video.evaluate((element) => (element as unknown as MediaState).currentSrc)).pathname).toBe(new URL(record.video.url).pathname);

    // The webhook lands, and the card shows the delivery and the whole timeline.
    await generation.locator('[data-step="notified"] time').waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await generation.locator('.webhook').textContent()).toMatch(/delivered · 1 attempt · last status 200/);
    for (const step of ['accepted', 'provider_accepted', 'provider_done', 'completed', 'notified']) {
      expect(await generation.locator(`[data-step="${step}"] time`).count(), step).toBe(1);
    }
    const chart = page.locator(`figure.chart[data-model="${V16}"]`);
    expect(await chart.locator('figcaption').textContent()).toMatch(/^1 run · median/);
    // Axes: provider time with round ticks from 0 past the longest run, and the runs numbered.
    expect(await chart.locator('.axis-x').count()).toBe(1);
    expect(await chart.locator('.axis-y').count()).toBe(1);
    expect(await chart.locator('.axis-label').allTextContents()).toEqual(['run, oldest first', 'provider time']);
    const yLabels = await chart.locator('.tick-y text').allTextContents();
    expect(yLabels.length).toBeGreaterThanOrEqual(2);
    expect(yLabels[0]).toBe('0');
    expect(await chart.locator('.tick-x').count()).toBe(1);
    expect(await chart.locator('.tick-x text').allTextContents()).toEqual(['1']);

    // The README's picture: the page from its top, as a person at 1280×800 sees it.
    if (UPDATE_SCREENSHOT) {
      await page.evaluate('window.scrollTo(0, 0)');
      await mkdir(join(REPO_ROOT, 'docs'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    }
  });

  it("filters by status through the API's status query, and searches prompts and ids in the loaded records", async () => {
    const visibleIds = () => page.locator('article.generation:visible').evaluateAll((cards) => cards.map((card) => (card as unknown as PageElement).dataset.id));
    for (const status of ['completed', 'error']) {
      await page.locator('#status-filter').selectOption(status);
      const listed = (await api(stack.url, 'GET', `/v2/video/generations?status=${status}`, { apiKey: stack.apiKey })).json.data.map((record: { id: string }) => record.id);
      expect(listed.length, status).toBeGreaterThan(0);
      await expect.poll(visibleIds, { timeout: UI_TIMEOUT_MS }).toEqual(listed);
    }
    await page.locator('#status-filter').selectOption('queued');
    await page.locator('.empty').filter({ hasText: 'No queued generations.' }).waitFor();
    expect(await page.locator('article.generation').count()).toBe(0);

    await page.locator('#status-filter').selectOption('');
    const all = (await api(stack.url, 'GET', '/v2/video/generations', { apiKey: stack.apiKey })).json.data as Array<{ id: string; prompt: string }>;
    await expect.poll(visibleIds, { timeout: UI_TIMEOUT_MS }).toEqual(all.map((record) => record.id));
    await page.locator('#search').fill('SEQUOIA');
    expect(await visibleIds()).toEqual(all.filter((record) => record.prompt.includes('sequoia')).map((record) => record.id));
    expect(await page.locator('#search-note').textContent()).toBe(`1 of the ${all.length} loaded generations match (the search covers the loaded ones only).`);
    const someId = all[all.length - 1]!.id;
    await page.locator('#search').fill(someId.slice(4));
    expect(await visibleIds()).toEqual([someId]);
    await page.locator('#search').fill('no such prompt');
    expect(await visibleIds()).toEqual([]);
    expect(await page.locator('.empty').textContent()).toBe('No loaded generation matches the search.');
    await page.locator('#search').fill('');
    expect(await visibleIds()).toEqual(all.map((record) => record.id));
  });

  it('fits a phone-width screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(() => page.evaluate<number>('document.documentElement.scrollWidth'), { timeout: UI_TIMEOUT_MS })
      .toBeLessThanOrEqual(390);
  });
});
