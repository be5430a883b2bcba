// What the Deployments tab says about a deployment and about the working copy, kept apart
// from the component so the wording and the comparison are tested on their own.

export interface DeploymentStatusInput {
  expectedGateways: number;
  acknowledgedGateways: number;
  acknowledgedInMs?: number | null;
  /** Listed to the Publisher's users only (empty for others). */
  gateways?: ReadonlyArray<{ id: string; healthy: boolean; acknowledged: boolean }>;
}

export type DeploymentTone = 'enforced' | 'lagging' | 'none';

const gateways = (n: number) => `${n} ${n === 1 ? 'gateway' : 'gateways'}`;

/**
 * "enforced by 2 of 2 gateways in 38 ms" once every expected gateway acknowledged;
 * "1 of 2 gateways enforce it" while some lag.
 */
export function deploymentStatus(d: DeploymentStatusInput): { text: string; tone: DeploymentTone } {
  const { expectedGateways: expected, acknowledgedGateways: acked } = d;
  if (expected === 0) return { text: 'no healthy gateway of this environment serves it', tone: 'none' };
  if (acked >= expected) {
    const ms = d.acknowledgedInMs;
    return { text: `enforced by ${acked} of ${gateways(expected)}${ms == null ? '' : ` in ${ms} ms`}`, tone: 'enforced' };
  }
  return { text: `${acked} of ${gateways(expected)} ${expected === 1 ? 'enforces' : 'enforce'} it`, tone: 'lagging' };
}

export interface RevisionStamp {
  id: string;
  number: number;
  createdAt: string;
}

/**
 * When the working copy was last edited, as far as the API tells: its updatedAt, unless that
 * is the time of its latest lifecycle change (a lifecycle change bumps updatedAt too, but is
 * not part of a revision: the gateways get the API's current state with every revision).
 * null when the last change was a lifecycle change, because the edits before it are then
 * hidden behind it.
 */
export function lastEditAt(updatedAt: string, lifecycleAts: readonly string[]): number | null {
  const updated = Date.parse(updatedAt);
  if (Number.isNaN(updated)) return null;
  const latestLifecycle = Math.max(...lifecycleAts.map((a) => Date.parse(a)).filter((t) => !Number.isNaN(t)));
  return latestLifecycle === updated ? null : updated;
}

export interface WorkingCopyDrift {
  /** The working copy was edited after the newest revision: no revision holds those edits. */
  unsaved: boolean;
  /** Deployed revisions created before the working copy's last edit (newest first). */
  behind: RevisionStamp[];
}

/**
 * Whether the working copy differs from the deployed revisions, compared by time: a revision
 * created before the working copy's last edit does not hold that edit. Restoring a revision
 * edits the working copy too, so right after a restore the working copy shows as changed
 * even when it equals the deployed revision.
 */
export function workingCopyDrift(
  editedAt: number | null,
  revisions: readonly RevisionStamp[],
  deployedRevisionIds: ReadonlySet<string>,
): WorkingCopyDrift {
  if (editedAt == null) return { unsaved: false, behind: [] };
  const older = (r: RevisionStamp) => Date.parse(r.createdAt) < editedAt;
  const newest = revisions.reduce<RevisionStamp | undefined>((a, r) => (!a || r.number > a.number ? r : a), undefined);
  return {
    unsaved: newest !== undefined && older(newest),
    behind: revisions.filter((r) => deployedRevisionIds.has(r.id) && older(r)).sort((a, b) => b.number - a.number),
  };
}

/**
 * Which gateways lag (healthy, not yet enforcing the revision) and which are stale (missed
 * their heartbeats: listed, not counted), by id.
 */
export function laggingGateways(d: DeploymentStatusInput): { lagging: string[]; stale: string[] } {
  const gws = d.gateways ?? [];
  return {
    lagging: gws.filter((g) => g.healthy && !g.acknowledged).map((g) => g.id),
    stale: gws.filter((g) => !g.healthy).map((g) => g.id),
  };
}
