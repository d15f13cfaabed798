import type { Admin } from 'kafkajs';

/*
 * The consumer groups of one end-to-end run on the shared broker: the spawned services run with
 * KAFKA_GROUP_SUFFIX=<suffix> and KAFKA_GROUP_START=latest, so a run must wait until every group is
 * assigned before it sends anything, and must remove its groups and retry/DLQ topics afterwards.
 */

/** Every consumer group the services report on /health is Stable with members: `latest` is safe now. */
export async function waitForRunGroups(
  serviceUrls: readonly string[],
  suffix: string,
  admin: () => Admin,
): Promise<void> {
  const groups: string[] = [];
  for (const url of serviceUrls) {
    const health = (await (await fetch(`${url}/health`)).json()) as { checks: Record<string, unknown> };
    for (const name of Object.keys(health.checks))
      if (name.startsWith('consumer:')) groups.push(name.slice('consumer:'.length));
  }
  if (groups.length < 5 || !groups.every((g) => g.endsWith(`.${suffix}`)))
    throw new Error(`unexpected consumer groups: ${groups.join(', ')}`);
  const kafka = admin();
  await kafka.connect();
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { groups: described } = await kafka.describeGroups(groups);
      const pending = described
        .filter((g) => g.state !== 'Stable' || g.members.length === 0)
        .map((g) => `${g.groupId}:${g.state}`);
      if (pending.length === 0) break;
      if (Date.now() > deadline) throw new Error(`consumer groups not stable: ${pending.join(', ')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await kafka.disconnect();
  }
  // A group without offsets resolves "latest" on its first fetch right after the assignment.
  await new Promise((r) => setTimeout(r, 2_000));
}

/** Deletes the run's consumer groups and the retry/DLQ topics its suffixed groups created. */
export async function removeRunGroups(suffix: string, admin: () => Admin): Promise<void> {
  const kafka = admin();
  await kafka.connect();
  try {
    const groups = (await kafka.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.endsWith(`.${suffix}`));
    if (groups.length > 0) await kafka.deleteGroups(groups);
    const topics = (await kafka.listTopics()).filter((t) => t.includes(`.${suffix}.`));
    if (topics.length > 0) await kafka.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await kafka.disconnect();
  }
}
