import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';
import {
  callIdentity,
  expectAudioArriving,
  expectPlayingVideos,
  join,
  newRoom,
  tileFrames,
  videoTimes,
} from './calls';
import { longestFrameGap, watchFrames } from './frames';
import { smallCamera } from './faults';
import { Parley } from './network';
import { TestHaproxy, TestPostgres, TestRedis } from './services';

// More than one node: two Parleys sharing a PostgreSQL and a Redis of the test's own,
// with HAProxy in front as deploy/haproxy.cfg sets it up. Every node serves every
// meeting; a meeting outlives the node that hosted it.

test.describe.configure({ mode: 'serial' });

const PORTS = { postgres: 3974, redis: 3975, haproxy: 3973, nodes: [3971, 3972], media: [3976, 3977] };

/** Starts the shared services and two nodes (with media ports when `media`). */
async function cluster(media: boolean) {
  const postgres = new TestPostgres(PORTS.postgres);
  const redis = new TestRedis(PORTS.redis);
  const haproxy = new TestHaproxy(PORTS.haproxy, PORTS.nodes);
  const nodes = PORTS.nodes.map(
    (port, i) =>
      new Parley(port, [
        '--database-url', postgres.url, '--cluster', redis.url,
        ...(media ? ['--sfu-listen', `127.0.0.1:${PORTS.media[i]}`, '--mesh-limit', '0'] : []),
      ]),
  );
  const stop = async () => {
    for (const node of nodes) await node.stop('SIGKILL');
    haproxy.stop();
    redis.stop();
    postgres.stop();
  };
  try {
    postgres.start();
    redis.start();
    for (const node of nodes) await node.start();
    haproxy.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, haproxy, stop };
}

const panel = (page: Page) => page.getByRole('complementary', { name: 'Chat' });

test('two nodes: Ada through one and Bob through the other see and hear each other, and chat reaches both', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const { nodes, stop } = await cluster(false);
  try {
    const room = await newRoom(browser, nodes[0].url);
    const code = room.split('/r/')[1];
    const ada = await join(browser, `${nodes[0].url}/r/${code}`, 'Ada');
    const bob = await join(browser, `${nodes[1].url}/r/${code}`, 'Bob');
    for (const who of [ada, bob]) await expectPlayingVideos(who.page, 1);
    for (const who of [ada, bob]) await expectAudioArriving(who.page);

    await bob.page.getByRole('button', { name: /^Chat/ }).click();
    const box = panel(bob.page).getByRole('textbox', { name: 'Message to everyone' });
    await box.fill('hello from node 2');
    await box.press('Enter');
    await expect(ada.page.getByRole('button', { name: 'Chat (1 unread message)' })).toBeVisible();
    // Someone joining later, on either node, finds it in the history.
    const cy = await join(browser, `${nodes[0].url}/r/${code}`, 'Cy');
    await cy.page.getByRole('button', { name: /^Chat/ }).click();
    await expect(panel(cy.page).getByRole('log', { name: 'Messages' })).toContainText('hello from node 2');
    for (const who of [ada, bob, cy]) await who.context.close();
  } finally {
    await stop();
  }
});

test('the node hosting a call dies (SIGKILL): Ada, through HAProxy, and Bob resume on the other with the same call, no video reloaded, no connection closed', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const { nodes, haproxy, stop } = await cluster(false);
  try {
    // HAProxy sends every new connection to node 1 while it is up: Ada's page and her
    // signaling go there; Bob comes straight to node 2, relayed to node 1.
    const room = await newRoom(browser, haproxy.url);
    const code = room.split('/r/')[1];
    const ada = await join(browser, `${haproxy.url}/r/${code}`, 'Ada');
    const bob = await join(browser, `${nodes[1].url}/r/${code}`, 'Bob');
    for (const who of [ada, bob]) await expectPlayingVideos(who.page, 1);
    const before = await Promise.all([ada, bob].map((who) => callIdentity(who.page)));
    for (const who of [ada, bob]) await watchFrames(who.page);

    await nodes[0].stop('SIGKILL');
    const killedAt = Date.now();
    await expect(ada.page.getByRole('alert')).toContainText('Reconnecting');
    for (const who of [ada, bob]) await expect(who.page.getByRole('alert')).toBeHidden({ timeout: 15_000 });
    console.log(`node killed → both resumed on the other: ${Date.now() - killedAt} ms`);
    for (const [i, who] of [ada, bob].entries()) {
      expect(await callIdentity(who.page), 'same people, same connections, no video reloaded').toEqual(before[i]);
      const first = await videoTimes(who.page);
      await expect
        .poll(async () => (await videoTimes(who.page)).every((t, k) => t > first[k]), { timeout: 5_000 })
        .toBe(true);
      const { gap } = await longestFrameGap(who.page);
      expect(gap, 'the pictures went on (peer-to-peer)').toBeLessThan(1_500);
    }
    // Signaling goes on, through node 2: a switch reaches the other side.
    await ada.page.keyboard.press('Control+d');
    await expect(bob.page.locator('.tile.remote').getByRole('img', { name: 'Microphone off' })).toBeVisible();
    for (const who of [ada, bob]) await who.context.close();
  } finally {
    await stop();
  }
});

test('a meeting through the media port of a node that dies: every picture plays again, through the other node, within 5 s', async ({
  browser,
}) => {
  test.setTimeout(90_000);
  const { nodes, haproxy, stop } = await cluster(true);
  try {
    const room = await newRoom(browser, haproxy.url);
    const code = room.split('/r/')[1];
    const ada = await join(browser, `${haproxy.url}/r/${code}`, 'Ada', { scripts: [{ script: smallCamera }] });
    const bob = await join(browser, `${nodes[1].url}/r/${code}`, 'Bob', { scripts: [{ script: smallCamera }] });
    const people = [ada, bob];
    for (const who of people) await expectPlayingVideos(who.page, 1);
    const before = await Promise.all(people.map((who) => callIdentity(who.page)));
    const frames = await Promise.all(people.map((who) => who.page.evaluate(tileFrames)));

    await nodes[0].stop('SIGKILL');
    const killedAt = Date.now();
    for (const [i, who] of people.entries()) {
      await expect
        .poll(
          async () => (await who.page.evaluate(tileFrames)).every((count, tile) => count >= frames[i][tile] + 5),
          { message: 'every picture moves again', timeout: 15_000, intervals: [100] },
        )
        .toBe(true);
    }
    const back = Date.now() - killedAt;
    console.log(`media node killed → every picture back through the other node: ${back} ms`);
    for (const [i, who] of people.entries()) {
      const after = await callIdentity(who.page);
      expect(after.peers, 'the same people').toEqual(before[i].peers);
      expect(after.loadstarts, 'no video reloaded').toBe(before[i].loadstarts);
    }
    expect(back, 'video plays again within 5 s').toBeLessThan(5_000);
    for (const who of people) await who.context.close();
  } finally {
    await stop();
  }
});
