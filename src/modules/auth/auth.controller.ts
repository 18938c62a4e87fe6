import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../../common/auth/auth-user';
import { CurrentUser, Public } from '../../common/auth/auth.decorators';
import { ApiResult } from '../../common/http/api-result';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import { UserResponseDto } from '../users/dto/user-response.dto';
import { UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import { AuthResponseDto, ChangePasswordDto, LoginDto, RefreshDto, RegisterDto } from './dto/auth.dto';

@ApiTags('Auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Post('register')
  @Public()
  @ApiOperation({
    summary: 'Create an account and sign in',
    description:
      'Creates a PARTICIPANT. 403 when registration is closed (ALLOW_REGISTRATION=false); 409 when the email is taken.',
    security: [],
  })
  @ApiEnvelope(AuthResponseDto, { status: 201 })
  @ApiErrors(400, 403, 409)
  register(@Body() dto: RegisterDto) {
    return this.auth.register(dto);
  }

  @Post('login')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    summary: 'Sign in',
    description:
      'One 401 message for an unknown email and a wrong password. Repeated failures per email or client address: 429 with Retry-After.',
    security: [],
  })
  @ApiEnvelope(AuthResponseDto)
  @ApiErrors(400, 401, 429)
  login(@Body() dto: LoginDto) {
    return this.auth.login(dto);
  }

  @Post('refresh')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    summary: 'Exchange a refresh token for a new pair',
    description: 'Refresh tokens rotate: each works once. Presenting a spent one ends that whole login (401).',
    security: [],
  })
  @ApiEnvelope(AuthResponseDto)
  @ApiErrors(400, 401)
  refresh(@Body() dto: RefreshDto) {
    return this.auth.refresh(dto.refreshToken);
  }

  @Post('logout')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign out',
    description: 'Ends this login: its refresh token and the access token in hand stop working at once.',
  })
  @ApiEnvelope(null, { description: 'Signed out; data is null', message: 'Signed out' })
  @ApiErrors(401)
  async logout(@CurrentUser() caller: AuthUser) {
    await this.auth.logout(caller);
    return ApiResult.of(null, 'signedOut');
  }

  @Post('change-password')
  @HttpCode(200)
  @ApiOperation({ summary: 'Change the password', description: 'Keeps this login and ends the others.' })
  @ApiEnvelope(null, { description: 'Changed; data is null', message: 'Password changed' })
  @ApiErrors(400, 401)
  async changePassword(@CurrentUser() caller: AuthUser, @Body() dto: ChangePasswordDto) {
    await this.auth.changePassword(caller, dto);
    return ApiResult.of(null, 'passwordChanged');
  }

  @Get('me')
  @ApiOperation({ summary: 'The signed-in user', description: 'The account the access token belongs to.' })
  @ApiEnvelope(UserResponseDto)
  @ApiErrors(401)
  me(@CurrentUser() caller: AuthUser) {
    return this.users.me(caller);
  }
}
