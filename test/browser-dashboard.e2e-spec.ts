import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { ensureDemoBuilt } from './support/demo-processes.ts';

const CHROMIUM = '/usr/bin/chromium';
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
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCREENSHOT = join(ROOT, 'dist/screenshots/dashboard.png');
const hasChromium = existsSync(CHROMIUM);

interface NodeProcess {
  readonly name: string;
  readonly url: string;
  readonly peer: string;
  readonly pid: number;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface PartitionRow {
  readonly partition: number;
  readonly voters: readonly string[];
  readonly leader: string | null;
}

async function partitionsOf(node: NodeProcess): Promise<PartitionRow[]> {
  const response = await fetch(`${node.url}/cluster/partitions`, { signal: AbortSignal.timeout(2_000) });
  return ((await response.json()) as { partitions: PartitionRow[] }).partitions;
}

/** What the page's partition map shows: per member, the partitions it replicates and those it leads. */
async function shownMap(page: Page): Promise<Record<string, { replicas: number[]; leads: number[] }>> {
  return page.$$eval('#partition-map tbody tr', (rows) =>
    Object.fromEntries(
      rows.map((row) => {
        const cells = [...row.querySelectorAll('td')];
        const partitionsWith = (selector: string): number[] =>
          cells
            .filter((cell) => cell.matches(selector))
            .map((cell) => Number(cell.getAttribute('data-partition')));
        return [
          row.getAttribute('data-member')!,
          { replicas: partitionsWith('.voter, .leader'), leads: partitionsWith('.leader') },
        ];
      }),
    ),
  );
}

/** The map a partition table should draw (members without a part get empty lists). */
function expectedMap(
  table: readonly PartitionRow[],
  members: readonly string[],
): Record<string, { replicas: number[]; leads: number[] }> {
  return Object.fromEntries(
    members.map((id) => [
      id,
      {
        replicas: table.filter((p) => p.voters.includes(id)).map((p) => p.partition),
        leads: table.filter((p) => p.leader === id).map((p) => p.partition),
      },
    ]),
  );
}

async function leaderOf(node: NodeProcess): Promise<string | null> {
  const response = await fetch(`${node.url}/cluster`, { signal: AbortSignal.timeout(2_000) });
  return ((await response.json()) as { leader: string | null }).leader;
}

if (!hasChromium)
  console.warn(`${CHROMIUM} not found: skipping the dashboard browser test (apt-get install chromium)`);

describe.skipIf(!hasChromium)(`dashboard in headless Chromium (needs ${CHROMIUM})`, () => {
  let launcher: ChildProcess;
  let output = '';
  let nodes: NodeProcess[] = [];
  let browser: Browser;
  const pageErrors: string[] = [];

  async function openDashboard(node: NodeProcess): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(`${node.name}: ${error.message}`));
    await page.goto(`${node.url}/`);
    await page.locator('#members tbody tr').nth(2).waitFor();
    return page;
  }

  beforeAll(async () => {
    ensureDemoBuilt();
    const peerPorts = [await freePort(), await freePort(), await freePort()];
    const httpPorts = [await freePort(), await freePort(), await freePort()];
    // The one-command launcher of `npm start`, on free ports: it is under test too.
    launcher = spawn(
      process.execPath,
      ['scripts/local-cluster.ts', '--peer-ports', peerPorts.join(','), '--http-ports', httpPorts.join(',')],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    launcher.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    launcher.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await until(
      () => (output.includes('Ctrl-C stops the cluster') ? true : undefined),
      'the cluster',
      30_000,
    );
    nodes = [...output.matchAll(/^ {2}(node\d) {2}(http:\/\/\S+) {2}\(peer (\S+), pid (\d+)\)$/gm)].map(
      ([, name, url, peer, pid]) => ({ name: name!, url: url!, peer: peer!, pid: Number(pid) }),
    );
    expect(nodes).toHaveLength(3);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (launcher?.exitCode === null) {
      const exited = new Promise((resolve) => launcher.once('exit', resolve));
      launcher.kill('SIGTERM');
      const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r('late'), 15_000))]);
      if (stopped === 'late') launcher.kill('SIGKILL');
    }
    // The launcher stops its nodes; whatever it left behind goes now.
    const left = nodes.filter((node) => isRunning(node.pid));
    for (const node of left) process.kill(node.pid, 'SIGKILL');
    expect(left.map((node) => node.name)).toEqual([]);
    expect(output).toContain('all nodes stopped');
  }, 30_000);

  it("shows a key set through one node's page in another node's live feed", async () => {
    const [writerPage, readerPage] = await Promise.all([openDashboard(nodes[0]!), openDashboard(nodes[1]!)]);
    await readerPage.locator('#feed-state.ok').waitFor();
    await writerPage.fill('#key', 'browser:greeting');
    await writerPage.fill('#value', '{"hello":"from node1"}');
    await writerPage.click('#set');
    await writerPage.locator('#kv-result', { hasText: 'set "browser:greeting" at revision' }).waitFor();

    const item = readerPage.locator('#feed li[data-key="browser:greeting"]');
    await item.waitFor({ timeout: 10_000 });
    expect(await item.locator('.value').textContent()).toBe('{"hello":"from node1"}');

    await readerPage.fill('#key', 'browser:greeting');
    await readerPage.click('#get');
    await readerPage.locator('#kv-result', { hasText: '"from node1"' }).waitFor();
    await Promise.all([writerPage.close(), readerPage.close()]);
  });

  it('draws the partition map of the default partition count, leaders marked as the node reports them', async () => {
    const page = await openDashboard(nodes[2]!);
    await page.locator('#partition-map tbody tr').nth(2).waitFor();
    const members = nodes.map((node) => node.peer);
    // The page polls; leaderships may still settle, so wait for one poll that matches the node's table.
    await until(async () => {
      const table = await partitionsOf(nodes[2]!);
      if (table.some((p) => p.leader === null)) return undefined;
      const shown = await shownMap(page);
      return isDeepStrictEqual(shown, expectedMap(table, members)) ? true : undefined;
    }, 'the map to match /cluster/partitions');
    const shown = await shownMap(page);
    // `npm start` without flags: 64 partitions, each on all 3 members, one leader each.
    for (const id of members) expect(shown[id]!.replicas).toHaveLength(64);
    expect(
      Object.values(shown)
        .flatMap((m) => m.leads)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(await page.textContent('#partitions-summary')).toContain('64 partitions × 3 replicas');
    await page.close();
  });

  it('keeps up when the node it is served from hands leadership over', async () => {
    const leaderId = await leaderOf(nodes[0]!);
    const page = await openDashboard(nodes.find((node) => node.peer === leaderId)!);
    await page.locator('#local-role', { hasText: 'leader' }).waitFor();
    await page.click('#transfer');
    const result = page.locator('#transfer-result', { hasText: 'new leader: ' });
    await result.waitFor({ timeout: 10_000 });
    const newLeader = (await result.textContent())!.replace('new leader: ', '');
    expect(newLeader).not.toBe(leaderId);
    await page.locator('#leader', { hasText: newLeader }).waitFor();
    await page.locator(`#members tr.leader[data-member="${newLeader}"]`).waitFor();
    await page.locator('#local-role', { hasText: 'follower' }).waitFor();
    await page.close();
  });

  it('shows the new leader, and the old one unreachable, after the leader is killed with SIGKILL', async () => {
    const leaderId = await leaderOf(nodes[0]!);
    const leader = nodes.find((node) => node.peer === leaderId)!;
    const survivor = nodes.find((node) => node !== leader)!;
    const page = await openDashboard(survivor);
    await page.locator(`#members tr.leader[data-member="${leader.peer}"]`).waitFor();
    expect(await page.textContent('#leader')).toBe(leader.peer);

    process.kill(leader.pid, 'SIGKILL');
    const others = nodes.filter((node) => node !== leader).map((node) => node.peer);
    const newLeader = await until(async () => {
      const shown = (await page.textContent('#leader')) ?? '';
      return others.includes(shown) ? shown : undefined;
    }, 'the page to show a new leader');
    await page.locator(`#members tr.leader[data-member="${newLeader}"]`).waitFor();
    await page.locator(`#members tr.unreachable[data-member="${leader.peer}"]`).waitFor({ timeout: 10_000 });
    expect(output).toContain(`${leader.name} exited (SIGKILL)`);
    // The partition map follows: the killed member keeps its replicas but leads none, the survivors lead all.
    await until(
      async () => {
        const shown = await shownMap(page);
        const led = others.flatMap((id) => shown[id]?.leads ?? []);
        return shown[leader.peer]?.leads.length === 0 && led.length === 64 ? true : undefined;
      },
      "the map to move the killed member's leaderships to the survivors",
      30_000,
    );

    // Traffic for the feed and the writes/s chart, going on while the screenshot is taken.
    const traffic = (async () => {
      for (let i = 0; i < 40; i++) {
        await fetch(`${survivor.url}/kv/after-failover:${i}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ value: { i } }),
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await page.locator('#feed li[data-key="after-failover:20"]').waitFor();
    await page.waitForTimeout(600);
    mkdirSync(join(ROOT, 'dist/screenshots'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await traffic;
    await page.locator('#feed li[data-key="after-failover:39"]').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
