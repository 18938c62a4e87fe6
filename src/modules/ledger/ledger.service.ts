import { HttpStatus, Injectable } from '@nestjs/common';
import { AuthUser } from '../../common/auth/auth-user';
import { AppException } from '../../common/http/app.exception';
import { ActivityLogService } from '../activity-log/activity-log.service';
import { AuditLogService } from '../audit-log/audit-log.service';
import {
  CheckpointDto,
  ConsistencyProofDto,
  InclusionProofDto,
  LeafDto,
  LedgerCheckDto,
  LedgerProblemDto,
  PublicKeyDto,
} from './dto/ledger.dto';
import { LedgerKey } from './ledger-key';
import {
  LedgerRepository,
  removedByRetention,
  RetentionRecord,
  StoredCheckpoint,
  StoredLeaf,
} from './ledger.repository';
import { activityLeafObject, auditLeafObject, LeafKind, recordMatchesLeaf } from './leaves';
import {
  CompactRange,
  consistencyProof,
  consistencyRanges,
  inclusionProof,
  inclusionRanges,
  leafHash,
  sameHash,
} from './merkle';
import { openNote, parseCheckpointText, publicKeyFromRaw, Verifier } from './signed-note';
import { TreeReader } from './tree-reader';

export const MAX_LEAVES_PER_READ = 1000;
const MAX_PROBLEMS = 100;
const VERIFY_BATCH = 2000;
/** Seconds a client waits before asking again for the proof of a record not integrated yet. */
const RETRY_AFTER_SECONDS = 2;

/** The ledger's evidence: checkpoints, proofs, leaves, and the check of everything against everything. */
@Injectable()
export class LedgerService {
  private readonly verifier: Verifier;

  constructor(
    private readonly repository: LedgerRepository,
    private readonly key: LedgerKey,
    private readonly activities: ActivityLogService,
    private readonly auditLogs: AuditLogService,
  ) {
    this.verifier = { name: key.origin, keyId: key.keyId, publicKey: publicKeyFromRaw(key.publicKey) };
  }

  publicKey(): PublicKeyDto {
    return {
      origin: this.key.origin,
      keyId: this.key.keyId.toString('hex'),
      publicKey: this.key.publicKey.toString('base64'),
      verifierKey: this.key.verifierKey,
    };
  }

  async checkpoint(treeSize?: number): Promise<CheckpointDto> {
    return toCheckpointDto(await this.findCheckpoint(treeSize));
  }

  async consistency(from: number, to?: number): Promise<ConsistencyProofDto> {
    const latest = await this.repository.checkpoint();
    const size = latest?.treeSize ?? 0;
    const target = to ?? size;
    if (!(from <= target && target <= size)) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'invalidTreeRange', { rule: `1 <= from <= to <= ${size}` });
    }
    const reader = this.reader();
    await reader.prefetch(consistencyRanges(from, target));
    const proof = await consistencyProof(reader.subtree, from, target);
    return { from, to: target, proof: proof.map(base64) };
  }

  /** An activity's inclusion proof, for whoever may read the activity. */
  async activityProof(caller: AuthUser, id: number, treeSize?: number): Promise<InclusionProofDto> {
    await this.activities.get(caller, id);
    return this.inclusion('activity', id, treeSize);
  }

  async auditProof(id: number, treeSize?: number): Promise<InclusionProofDto> {
    await this.auditLogs.get(id);
    return this.inclusion('audit', id, treeSize);
  }

  async leaves(start: number, end: number): Promise<LeafDto[]> {
    if (!(start < end && end - start <= MAX_LEAVES_PER_READ)) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'invalidTreeRange', {
        rule: `start < end <= start + ${MAX_LEAVES_PER_READ}`,
      });
    }
    const size = (await this.repository.checkpoint())?.treeSize ?? 0;
    const leaves = end > start && start < size ? await this.repository.leaves(start, Math.min(end, size)) : [];
    return leaves.map(toLeafDto);
  }

  /**
   * Re-checks everything: each leaf's hash, the tree rebuilt from the leaves against every checkpoint (root and
   * signature), and each kept record against its leaf; a record gone that retention did not remove is missing.
   */
  async verify(): Promise<LedgerCheckDto> {
    const latest = await this.repository.checkpoint();
    const treeSize = latest?.treeSize ?? 0;
    const retention = await this.repository.retentionRecord();
    const problems: LedgerProblemDto[] = [];
    let problemCount = 0;
    const report = (problem: LedgerProblemDto) => {
      problemCount++;
      if (problems.length < MAX_PROBLEMS) problems.push(problem);
    };
    const range = CompactRange.empty();
    // Checkpoints up to the latest, read a thousand at a time, each checked when the rebuilt tree reaches its size.
    let checkpoints: StoredCheckpoint[] = [];
    let afterSize = 0;
    let allRead = treeSize === 0;
    const checkCheckpointsAt = async (size: number) => {
      for (;;) {
        if (!checkpoints.length) {
          if (allRead) return;
          checkpoints = await this.repository.checkpointsBetween(afterSize, treeSize, 1000);
          if (!checkpoints.length) {
            allRead = true;
            return;
          }
          afterSize = checkpoints[checkpoints.length - 1].treeSize;
        }
        const next = checkpoints[0];
        if (next.treeSize > size) return;
        checkpoints.shift();
        const problem = this.checkpointProblem(next, next.treeSize === range.size ? range.root() : undefined);
        if (problem) report({ leafIndex: null, kind: 'checkpoint', recordId: next.treeSize, problem });
      }
    };
    let checked = 0;
    for (let start = 0; start < treeSize; start += VERIFY_BATCH) {
      const end = Math.min(start + VERIFY_BATCH, treeSize);
      const leaves = await this.repository.leaves(start, end);
      const byIndex = new Map(leaves.map((leaf) => [leaf.leafIndex, leaf]));
      for (let index = start; index < end; index++) {
        const leaf = byIndex.get(index);
        // A leaf row gone cannot be rebuilt: the tree then fails its checkpoints from here on.
        const hash = leaf ? leafHash(leaf.leaf) : Buffer.alloc(32);
        if (leaf && !sameHash(hash, leaf.leafHash)) {
          report({ leafIndex: index, kind: leaf.kind, recordId: leaf.recordId, problem: 'altered' });
        }
        range.append(hash);
        await checkCheckpointsAt(range.size);
      }
      for (const problem of await this.recordProblems(leaves, retention)) report(problem);
      checked += leaves.length;
    }
    await checkCheckpointsAt(treeSize);
    return { valid: problemCount === 0, treeSize, checked, problems };
  }

  private checkpointProblem(checkpoint: StoredCheckpoint, root: Buffer | undefined): 'unsigned' | 'root' | undefined {
    const text = openNote(checkpoint.note, this.verifier);
    const body = text === undefined ? undefined : parseCheckpointText(text);
    if (!body || body.origin !== this.key.origin || body.treeSize !== checkpoint.treeSize) return 'unsigned';
    if (!root || !sameHash(body.rootHash, root) || !sameHash(checkpoint.rootHash, root)) return 'root';
    return undefined;
  }

  private async recordProblems(leaves: StoredLeaf[], retention: RetentionRecord): Promise<LedgerProblemDto[]> {
    const parsed = leaves.map((leaf) => ({ leaf, fields: parseLeaf(leaf.leaf) }));
    const keys = (kind: LeafKind, timeField: string) =>
      parsed
        .filter(({ leaf, fields }) => leaf.kind === kind && typeof fields?.[timeField] === 'string')
        .map(({ leaf, fields }) => ({ id: leaf.recordId, at: new Date(fields![timeField] as string) }))
        .filter((key) => !Number.isNaN(key.at.getTime()));
    const activityKeys = keys('activity', 'timestamp');
    const db = this.repository.primary();
    const [activities, entries, histories] = await Promise.all([
      this.repository.activitiesByKey(db, activityKeys),
      this.repository.auditEntriesByKey(db, keys('audit', 'created_at')),
      this.repository.activityHistories(activityKeys.map((key) => key.id)),
    ]);
    const problems: LedgerProblemDto[] = [];
    for (const { leaf, fields } of parsed) {
      const found = (problem: 'altered' | 'missing') =>
        problems.push({ leafIndex: leaf.leafIndex, kind: leaf.kind, recordId: leaf.recordId, problem });
      if (!fields) {
        found('altered');
        continue;
      }
      if (leaf.kind === 'activity') {
        const activity = activities.get(leaf.recordId);
        if (!activity) {
          if (!removedByRetention(retention, new Date(fields.timestamp as string))) found('missing');
          continue;
        }
        const createdStatus = fields.status as typeof activity.status;
        const history = histories.get(leaf.recordId);
        const same =
          recordMatchesLeaf(activityLeafObject(activity, createdStatus), leaf.leaf) &&
          activity.status === (history?.status ?? createdStatus) &&
          (activity.deletedAt !== null) === (history?.deleted ?? false);
        if (!same) found('altered');
      } else {
        const entry = entries.get(leaf.recordId);
        if (!entry) {
          if (retention.auditUpTo === null || leaf.recordId > retention.auditUpTo) found('missing');
          continue;
        }
        if (!recordMatchesLeaf(auditLeafObject(entry), leaf.leaf)) found('altered');
      }
    }
    return problems;
  }

  private async inclusion(kind: LeafKind, id: number, treeSize?: number): Promise<InclusionProofDto> {
    const leaf = await this.repository.leafOf(kind, id);
    if (!leaf) {
      throw new AppException(HttpStatus.CONFLICT, 'notIntegratedYet', {}, null, {
        'Retry-After': String(RETRY_AFTER_SECONDS),
      });
    }
    const checkpoint = await this.findCheckpoint(treeSize);
    if (leaf.leafIndex >= checkpoint.treeSize) {
      if (treeSize === undefined) {
        throw new AppException(HttpStatus.CONFLICT, 'notIntegratedYet', {}, null, {
          'Retry-After': String(RETRY_AFTER_SECONDS),
        });
      }
      throw new AppException(HttpStatus.BAD_REQUEST, 'leafNotInCheckpoint', {
        leafIndex: leaf.leafIndex,
        treeSize: checkpoint.treeSize,
      });
    }
    const reader = this.reader();
    await reader.prefetch(inclusionRanges(leaf.leafIndex, checkpoint.treeSize));
    const proof = await inclusionProof(reader.subtree, leaf.leafIndex, checkpoint.treeSize);
    return {
      leafIndex: leaf.leafIndex,
      treeSize: checkpoint.treeSize,
      leaf: leaf.leaf,
      leafHash: base64(leaf.leafHash),
      proof: proof.map(base64),
      checkpoint: toCheckpointDto(checkpoint),
    };
  }

  private async findCheckpoint(treeSize?: number): Promise<StoredCheckpoint> {
    const checkpoint = await this.repository.checkpoint(treeSize);
    if (checkpoint) return checkpoint;
    if (treeSize === undefined) throw new AppException(HttpStatus.NOT_FOUND, 'noCheckpointYet');
    throw new AppException(HttpStatus.NOT_FOUND, 'checkpointNotFound', { treeSize });
  }

  private reader(): TreeReader {
    return new TreeReader(
      (level, start, end) => this.repository.hashes(level, start, end),
      (spans) => this.repository.hashSpans(spans),
    );
  }
}

function base64(hash: Buffer): string {
  return hash.toString('base64');
}

function parseLeaf(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function toCheckpointDto(checkpoint: StoredCheckpoint): CheckpointDto {
  return {
    origin: checkpoint.note.slice(0, checkpoint.note.indexOf('\n')),
    treeSize: checkpoint.treeSize,
    rootHash: base64(checkpoint.rootHash),
    createdAt: checkpoint.createdAt.toISOString(),
    note: checkpoint.note,
  };
}

function toLeafDto(leaf: StoredLeaf): LeafDto {
  return {
    leafIndex: leaf.leafIndex,
    kind: leaf.kind,
    recordId: leaf.recordId,
    leaf: leaf.leaf,
    leafHash: base64(leaf.leafHash),
  };
}
