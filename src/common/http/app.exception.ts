import { HttpException } from '@nestjs/common';
import { Language } from '../i18n/language';
import { MessageKey, translate } from '../i18n/messages';

/** One field that failed validation, as clients read it in `error.details`. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * An HTTP error whose message is translated by `Accept-Language`: throw it with a key of the message catalog.
 * Its `message` is the English text, for logs.
 */
export class AppException extends HttpException {
  constructor(
    status: number,
    readonly key: MessageKey,
    readonly params: Record<string, string | number> = {},
    readonly details: FieldError[] | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(translate(key, 'en', params), status);
  }

  messageIn(language: Language): string {
    return translate(this.key, language, this.params);
  }
}
