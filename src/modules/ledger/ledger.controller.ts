import { KeyScope } from '../api-keys/api-key-scopes';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser } from '../../common/auth/auth-user';
import { CurrentUser, Public, Roles } from '../../common/auth/auth.decorators';
import { IdParamPipe } from '../../common/http/id-param.pipe';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import {
  CheckpointDto,
  ConsistencyProofDto,
  ConsistencyQueryDto,
  InclusionProofDto,
  LeafDto,
  LeavesQueryDto,
  LedgerCheckDto,
  PublicKeyDto,
  TreeSizeQueryDto,
} from './dto/ledger.dto';
import { LedgerService } from './ledger.service';

const PROOF_NOT_YET = 'Not in the tree yet (normally within 2 s of its commit): 409 with Retry-After.';

@ApiTags('Ledger')
@Controller()
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  @Public()
  @Get('ledger/public-key')
  @ApiOperation({
    summary: 'The key that signs checkpoints',
    security: [],
    description: 'No token. `verifierKey` is what `npm run cli -- ledger-monitor` and Go’s sumdb/note take.',
  })
  @ApiEnvelope(PublicKeyDto)
  publicKey() {
    return this.ledger.publicKey();
  }

  @Public()
  @Get('ledger/checkpoint')
  @ApiOperation({
    summary: 'The latest signed checkpoint, or the one of a tree size',
    security: [],
    description: 'No token. `note` is the C2SP signed note. None (yet, or of that size): 404.',
  })
  @ApiEnvelope(CheckpointDto)
  @ApiErrors(400, 404)
  checkpoint(@Query() query: TreeSizeQueryDto) {
    return this.ledger.checkpoint(query.treeSize);
  }

  @Public()
  @Get('ledger/consistency')
  @ApiOperation({
    summary: 'A consistency proof between two tree sizes',
    security: [],
    description: 'No token. RFC 9162 2.1.4. `to` defaults to the latest checkpoint’s size; 1 <= from <= to <= size.',
  })
  @ApiEnvelope(ConsistencyProofDto)
  @ApiErrors(400)
  consistency(@Query() query: ConsistencyQueryDto) {
    return this.ledger.consistency(query.from, query.to);
  }

  @Roles('ADMIN')
  @Get('ledger/leaves')
  @KeyScope('audit:read')
  @ApiOperation({
    summary: 'Leaves of the tree, for monitors',
    description: 'ADMIN only. At most 1000: `start` inclusive, `end` exclusive.',
  })
  @ApiEnvelope(LeafDto, { isArray: true })
  @ApiErrors(400, 401, 403)
  leaves(@Query() query: LeavesQueryDto) {
    return this.ledger.leaves(query.start, query.end);
  }

  @Roles('ADMIN')
  @Get('ledger/verify')
  @KeyScope('audit:read')
  @ApiOperation({
    summary: 'Check every record against its leaf, the tree against every checkpoint',
    description:
      'ADMIN only. Finds records altered or missing behind the service, and checkpoints whose signature or root fails.',
  })
  @ApiEnvelope(LedgerCheckDto)
  @ApiErrors(401, 403)
  verify() {
    return this.ledger.verify();
  }

  @Get('activities/:id/proof')
  @KeyScope('activities:read')
  @ApiOperation({
    summary: 'The inclusion proof of an activity',
    description: `As GET /activities/{id} for who may ask. Against the latest checkpoint or the one of \`treeSize\`. ${PROOF_NOT_YET}`,
  })
  @ApiEnvelope(InclusionProofDto)
  @ApiErrors(400, 401, 403, 404, 409)
  activityProof(
    @CurrentUser() caller: AuthUser,
    @Param('id', IdParamPipe) id: number,
    @Query() query: TreeSizeQueryDto,
  ) {
    return this.ledger.activityProof(caller, id, query.treeSize);
  }

  @Roles('ADMIN')
  @Get('audit-logs/:id/proof')
  @KeyScope('audit:read')
  @ApiOperation({
    summary: 'The inclusion proof of an audit entry',
    description: `ADMIN only. Against the latest checkpoint or the one of \`treeSize\`. ${PROOF_NOT_YET}`,
  })
  @ApiEnvelope(InclusionProofDto)
  @ApiErrors(400, 401, 403, 404, 409)
  auditProof(@Param('id', IdParamPipe) id: number, @Query() query: TreeSizeQueryDto) {
    return this.ledger.auditProof(id, query.treeSize);
  }
}
