import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInt } from '../../../common/http/query-transforms';
import { LEAF_KINDS, type LeafKind } from '../leaves';

const MAX_SIZE = Number.MAX_SAFE_INTEGER;

export class PublicKeyDto {
  /** The log's name: the first line of every checkpoint and the name on its signature. */
  @ApiProperty({ example: 'logbook/3f2a9c01d4e5b6a7' })
  origin: string;

  /** The first 4 bytes of SHA-256(origin || "\n" || 0x01 || public key), in hex (C2SP signed-note). */
  @ApiProperty({ example: '9d1a2b3c' })
  keyId: string;

  /** The 32-byte Ed25519 public key, base64. */
  @ApiProperty({ example: 'mLx0Pq7s3bF1v8c2Yd0n4Jk5h6g7f8e9d0c1b2a3Z4Y=' })
  publicKey: string;

  /** `<origin>+<hex key id>+<base64(0x01 || public key)>`, as the monitor and Go's sumdb/note take it. */
  @ApiProperty({ example: 'logbook/3f2a9c01d4e5b6a7+9d1a2b3c+AZjL...' })
  verifierKey: string;
}

export class CheckpointDto {
  @ApiProperty({ example: 'logbook/3f2a9c01d4e5b6a7' })
  origin: string;

  @ApiProperty({ type: 'integer', example: 1042 })
  treeSize: number;

  /** The tree's root hash (RFC 9162), base64. */
  @ApiProperty({ example: 'p2Xh0sF1s0ZkqUQ3zY9yX1fV2mUo7y2d7vWcQ4b7S2M=' })
  rootHash: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: string;

  /** The signed note, exactly as signed (C2SP tlog-checkpoint and signed-note). */
  @ApiProperty({ example: 'logbook/3f2a9c01d4e5b6a7\n1042\np2Xh0sF1...=\n\n— logbook/3f2a9c01d4e5b6a7 nRorPA...\n' })
  note: string;
}

export class ConsistencyProofDto {
  @ApiProperty({ type: 'integer', example: 1000 })
  from: number;

  @ApiProperty({ type: 'integer', example: 1042 })
  to: number;

  /** RFC 9162 2.1.4 consistency proof, base64 hashes. */
  @ApiProperty({ type: [String] })
  proof: string[];
}

export class InclusionProofDto {
  @ApiProperty({ type: 'integer', example: 17 })
  leafIndex: number;

  @ApiProperty({ type: 'integer', example: 1042 })
  treeSize: number;

  /** The leaf's text: the record as recorded, in RFC 8785 canonical JSON, with `kind`. */
  @ApiProperty({ example: '{"action":"LOGIN","id":5,"kind":"activity",...}' })
  leaf: string;

  /** SHA-256(0x00 || leaf), base64. */
  @ApiProperty()
  leafHash: string;

  /** RFC 9162 2.1.3 inclusion proof, base64 hashes, bottom up. */
  @ApiProperty({ type: [String] })
  proof: string[];

  @ApiProperty({ type: CheckpointDto })
  checkpoint: CheckpointDto;
}

export class LeafDto {
  @ApiProperty({ type: 'integer', example: 17 })
  leafIndex: number;

  @ApiProperty({ enum: LEAF_KINDS, example: 'activity' })
  kind: LeafKind;

  @ApiProperty({ type: 'integer', example: 5 })
  recordId: number;

  @ApiProperty()
  leaf: string;

  @ApiProperty()
  leafHash: string;
}

export class LedgerProblemDto {
  /** Null for a checkpoint. */
  @ApiProperty({ type: 'integer', nullable: true, example: 17 })
  leafIndex: number | null;

  @ApiProperty({ enum: [...LEAF_KINDS, 'checkpoint'], example: 'activity' })
  kind: LeafKind | 'checkpoint';

  /** The record's id; a checkpoint's tree size. */
  @ApiProperty({ type: 'integer', example: 5 })
  recordId: number;

  /** `altered` or `missing` (a record); `unsigned` or `root` (a checkpoint). */
  @ApiProperty({ enum: ['altered', 'missing', 'unsigned', 'root'], example: 'altered' })
  problem: 'altered' | 'missing' | 'unsigned' | 'root';
}

export class LedgerCheckDto {
  @ApiProperty({ example: true })
  valid: boolean;

  @ApiProperty({ type: 'integer', example: 1042 })
  treeSize: number;

  /** Leaves checked. */
  @ApiProperty({ type: 'integer', example: 1042 })
  checked: number;

  /** At most 100. */
  @ApiProperty({ type: [LedgerProblemDto] })
  problems: LedgerProblemDto[];
}

export class TreeSizeQueryDto {
  /** A checkpoint's tree size; unset: the latest. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  treeSize?: number;
}

export class ConsistencyQueryDto {
  @ApiProperty({ type: 'integer', minimum: 1 })
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  from: number;

  /** Unset: the latest checkpoint's size. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  to?: number;
}

export class LeavesQueryDto {
  /** Inclusive. */
  @ApiProperty({ type: 'integer', minimum: 0 })
  @QueryInt()
  @IsInt()
  @Min(0)
  @Max(MAX_SIZE)
  start: number;

  /** Exclusive; at most 1000 after `start`. */
  @ApiProperty({ type: 'integer', minimum: 1 })
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  end: number;
}
