import { DynamicModule, Global, Module } from '@nestjs/common';
import { CursorCodec } from '../common/pagination/cursor';
import { AppSecrets } from './secrets';
import { Settings } from './settings';

/** Makes the validated {@link Settings}, the keys derived from them and the cursor codec injectable everywhere. */
@Global()
@Module({})
export class SettingsModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: SettingsModule,
      providers: [
        { provide: Settings, useValue: settings },
        { provide: AppSecrets, useFactory: () => AppSecrets.from(settings) },
        {
          provide: CursorCodec,
          inject: [AppSecrets],
          useFactory: (secrets: AppSecrets) => new CursorCodec(secrets.cursorKey),
        },
      ],
      exports: [Settings, AppSecrets, CursorCodec],
    };
  }
}
