import { Language } from './language';

type Catalog = Record<string, Record<Language, string>>;

/**
 * Every envelope message the service sends, in English, Thai and German. `{name}` marks a parameter.
 * Feature modules add their messages here, so a translator finds them all in one place.
 */
export const MESSAGES = {
  success: { en: 'Success', th: 'สำเร็จ', de: 'Erfolg' },
  created: { en: 'Created', th: 'สร้างสำเร็จ', de: 'Erstellt' },
  validationFailed: { en: 'Validation failed', th: 'ข้อมูลไม่ถูกต้อง', de: 'Validierung fehlgeschlagen' },
  invalidJson: { en: 'Malformed JSON body', th: 'รูปแบบ JSON ไม่ถูกต้อง', de: 'Fehlerhafter JSON-Body' },
  unsupportedMediaType: {
    en: 'Unsupported content type: send application/json',
    th: 'ไม่รองรับชนิดเนื้อหานี้ กรุณาส่ง application/json',
    de: 'Nicht unterstützter Inhaltstyp: bitte application/json senden',
  },
  payloadTooLarge: {
    en: 'Request body is too large',
    th: 'ข้อมูลที่ส่งมีขนาดใหญ่เกินไป',
    de: 'Der Request-Body ist zu groß',
  },
  routeNotFound: {
    en: 'Cannot {method} {path}',
    th: 'ไม่พบเส้นทาง {method} {path}',
    de: '{method} {path} existiert nicht',
  },
  serviceUnavailable: {
    en: 'Service temporarily unavailable, please retry',
    th: 'บริการไม่พร้อมใช้งานชั่วคราว กรุณาลองใหม่',
    de: 'Dienst vorübergehend nicht verfügbar, bitte erneut versuchen',
  },
  overloaded: {
    en: 'The service is busy, please retry shortly',
    th: 'ระบบมีคำขอจำนวนมากในขณะนี้ กรุณาลองใหม่อีกครั้งในไม่ช้า',
    de: 'Der Dienst ist ausgelastet, bitte in Kürze erneut versuchen',
  },
  conflict: { en: 'Conflict with existing data', th: 'ข้อมูลขัดแย้งกับข้อมูลที่มีอยู่', de: 'Konflikt mit vorhandenen Daten' },
  unauthorized: {
    en: 'Missing, invalid, expired or revoked access token',
    th: 'โทเคนสำหรับเข้าถึงไม่มี ไม่ถูกต้อง หมดอายุ หรือถูกเพิกถอน',
    de: 'Zugriffstoken fehlt, ist ungültig, abgelaufen oder widerrufen',
  },
  forbidden: {
    en: 'You are not allowed to do this',
    th: 'คุณไม่มีสิทธิ์ดำเนินการนี้',
    de: 'Dazu sind Sie nicht berechtigt',
  },
  invalidCredentials: {
    en: 'Invalid email or password',
    th: 'อีเมลหรือรหัสผ่านไม่ถูกต้อง',
    de: 'E-Mail oder Passwort ist falsch',
  },
  invalidRefreshToken: {
    en: 'Invalid, expired or revoked refresh token',
    th: 'โทเคนรีเฟรชไม่ถูกต้อง หมดอายุ หรือถูกเพิกถอน',
    de: 'Refresh-Token ist ungültig, abgelaufen oder widerrufen',
  },
  tooManyRequests: {
    en: 'Too many requests; retry in {seconds} seconds',
    th: 'มีคำขอมากเกินไป กรุณาลองใหม่ในอีก {seconds} วินาที',
    de: 'Zu viele Anfragen; erneut versuchen in {seconds} Sekunden',
  },
  tooManyLoginAttempts: {
    en: 'Too many failed sign-in attempts; retry in {seconds} seconds',
    th: 'เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป กรุณาลองใหม่ในอีก {seconds} วินาที',
    de: 'Zu viele fehlgeschlagene Anmeldeversuche; erneut versuchen in {seconds} Sekunden',
  },
  emailTaken: {
    en: 'An account with this email already exists',
    th: 'มีบัญชีที่ใช้อีเมลนี้อยู่แล้ว',
    de: 'Ein Konto mit dieser E-Mail existiert bereits',
  },
  registrationClosed: {
    en: 'Registration is closed; ask an administrator for an account',
    th: 'ปิดการลงทะเบียน กรุณาติดต่อผู้ดูแลระบบเพื่อขอบัญชี',
    de: 'Die Registrierung ist geschlossen; bitten Sie einen Administrator um ein Konto',
  },
  currentPasswordIncorrect: {
    en: 'The current password is incorrect',
    th: 'รหัสผ่านปัจจุบันไม่ถูกต้อง',
    de: 'Das aktuelle Passwort ist falsch',
  },
  ownAdminAccess: {
    en: 'You cannot remove your own ADMIN access',
    th: 'คุณไม่สามารถยกเลิกสิทธิ์ ADMIN ของตนเองได้',
    de: 'Sie können sich Ihren eigenen ADMIN-Zugang nicht entziehen',
  },
  userNotFound: {
    en: 'User with ID {id} not found',
    th: 'ไม่พบผู้ใช้ที่มี ID {id}',
    de: 'Benutzer mit ID {id} nicht gefunden',
  },
  auditLogNotFound: {
    en: 'Audit Log with ID {id} not found',
    th: 'ไม่พบ Audit Log ที่มี ID {id}',
    de: 'Audit Log mit ID {id} nicht gefunden',
  },
  invalidCursor: {
    en: 'Invalid cursor: it is malformed, forged, or was made for other filters or ordering',
    th: 'cursor ไม่ถูกต้อง: รูปแบบผิด ถูกปลอมแปลง หรือสร้างจากตัวกรองหรือการเรียงลำดับอื่น',
    de: 'Ungültiger Cursor: fehlerhaft, gefälscht oder für andere Filter oder Sortierung erstellt',
  },
  activityNotFound: {
    en: 'Activity with ID {id} not found',
    th: 'ไม่พบกิจกรรมที่มี ID {id}',
    de: 'Aktivität mit ID {id} nicht gefunden',
  },
  checkpointNotFound: {
    en: 'No checkpoint of the ledger has tree size {treeSize}',
    th: 'ไม่พบ checkpoint ของ ledger ที่มีขนาดต้นไม้ {treeSize}',
    de: 'Kein Checkpoint des Ledgers hat die Baumgröße {treeSize}',
  },
  noCheckpointYet: {
    en: 'The ledger has no checkpoint yet',
    th: 'ledger ยังไม่มี checkpoint',
    de: 'Das Ledger hat noch keinen Checkpoint',
  },
  notIntegratedYet: {
    en: 'This record is not in the ledger yet; retry in a moment',
    th: 'รายการนี้ยังไม่อยู่ใน ledger กรุณาลองใหม่ในอีกสักครู่',
    de: 'Dieser Eintrag ist noch nicht im Ledger; bitte gleich erneut versuchen',
  },
  leafNotInCheckpoint: {
    en: 'Leaf {leafIndex} is not in the tree of size {treeSize}',
    th: 'ใบที่ {leafIndex} ไม่อยู่ในต้นไม้ขนาด {treeSize}',
    de: 'Blatt {leafIndex} ist nicht im Baum der Größe {treeSize}',
  },
  invalidTreeRange: {
    en: 'Invalid range: needs {rule}',
    th: 'ช่วงไม่ถูกต้อง: ต้องเป็น {rule}',
    de: 'Ungültiger Bereich: erforderlich ist {rule}',
  },
  invalidStatus: { en: 'Invalid status', th: 'สถานะไม่ถูกต้อง', de: 'Ungültiger Status' },
  invalidTransition: {
    en: 'Cannot change status from {from} to {to}',
    th: 'ไม่สามารถเปลี่ยนสถานะจาก {from} เป็น {to}',
    de: 'Status kann nicht von {from} auf {to} geändert werden',
  },
  updatedTo: { en: 'Updated to {status}', th: 'อัปเดตเป็น {status}', de: 'Aktualisiert auf {status}' },
  idempotencyConflict: {
    en: 'This Idempotency-Key was already used with a different request',
    th: 'Idempotency-Key นี้ถูกใช้กับคำขออื่นแล้ว',
    de: 'Dieser Idempotency-Key wurde bereits für eine andere Anfrage verwendet',
  },
  apiKeyScope: {
    en: 'This API key may not do this ({scope})',
    th: 'API key นี้ไม่มีสิทธิ์ดำเนินการนี้ ({scope})',
    de: 'Dieser API-Schlüssel darf das nicht ({scope})',
  },
  apiKeyNotFound: {
    en: 'API key {id} not found',
    th: 'ไม่พบ API key {id}',
    de: 'API-Schlüssel {id} nicht gefunden',
  },
  apiKeyAdminScope: {
    en: 'Only an ADMIN’s key may hold {scope}',
    th: 'มีเพียง key ของ ADMIN เท่านั้นที่มี {scope} ได้',
    de: 'Nur der Schlüssel eines ADMIN darf {scope} haben',
  },
  apiKeyCreated: {
    en: 'API key created: keep it now, it is not shown again',
    th: 'สร้าง API key แล้ว: เก็บไว้ตอนนี้ จะไม่แสดงอีก',
    de: 'API-Schlüssel erstellt: jetzt sichern, er wird nicht wieder angezeigt',
  },
  apiKeyRevoked: { en: 'API key revoked', th: 'เพิกถอน API key แล้ว', de: 'API-Schlüssel widerrufen' },
  identityProviderUnavailable: {
    en: 'The identity provider cannot be reached to check this token; try again later',
    th: 'ไม่สามารถติดต่อผู้ให้บริการยืนยันตัวตนเพื่อตรวจสอบโทเค็นนี้ได้ กรุณาลองใหม่ภายหลัง',
    de: 'Der Identitätsanbieter ist zur Prüfung dieses Tokens nicht erreichbar; bitte später erneut versuchen',
  },
  webhookNotFound: {
    en: 'Webhook endpoint {id} not found',
    th: 'ไม่พบ webhook endpoint {id}',
    de: 'Webhook-Endpunkt {id} nicht gefunden',
  },
  webhookTarget: {
    en: 'This webhook URL cannot be used: {problem}',
    th: 'ใช้ URL ของ webhook นี้ไม่ได้: {problem}',
    de: 'Diese Webhook-URL ist nicht verwendbar: {problem}',
  },
  webhookCreated: {
    en: 'Webhook endpoint created: keep its secret now, it is not shown again',
    th: 'สร้าง webhook endpoint แล้ว: เก็บ secret ไว้ตอนนี้ จะไม่แสดงอีก',
    de: 'Webhook-Endpunkt erstellt: jetzt das Secret sichern, es wird nicht wieder angezeigt',
  },
  webhookDisabled: {
    en: 'Webhook endpoint {id} is disabled: enable it first',
    th: 'webhook endpoint {id} ถูกปิดใช้งานอยู่ กรุณาเปิดใช้งานก่อน',
    de: 'Webhook-Endpunkt {id} ist deaktiviert: bitte zuerst aktivieren',
  },
  webhookTestQueued: {
    en: 'Test event queued',
    th: 'เข้าคิวส่ง event ทดสอบแล้ว',
    de: 'Test-Ereignis eingereiht',
  },
  webhookReplayQueued: {
    en: '{events} events queued to be sent again',
    th: 'เข้าคิวส่ง event ซ้ำแล้ว {events} รายการ',
    de: '{events} Ereignisse zum erneuten Senden eingereiht',
  },
  webhookDeleted: { en: 'Webhook endpoint deleted', th: 'ลบ webhook endpoint แล้ว', de: 'Webhook-Endpunkt gelöscht' },
  webhookSecretRotated: {
    en: 'New secret: keep it now; the old one also signs for 24 hours',
    th: 'secret ใหม่: เก็บไว้ตอนนี้ secret เดิมยังใช้ลงนามต่อได้อีก 24 ชั่วโมง',
    de: 'Neues Secret: jetzt sichern; das alte signiert noch 24 Stunden mit',
  },
  signedOut: { en: 'Signed out', th: 'ออกจากระบบแล้ว', de: 'Abgemeldet' },
  passwordChanged: { en: 'Password changed', th: 'เปลี่ยนรหัสผ่านแล้ว', de: 'Passwort geändert' },
  internalError: {
    en: 'Internal server error',
    th: 'เกิดข้อผิดพลาดภายในระบบ',
    de: 'Interner Serverfehler',
  },
} satisfies Catalog;

/** The generic message of each HTTP status, used when an error carries no message key of its own. */
export const STATUS_MESSAGES: Record<number, Record<Language, string>> = {
  400: { en: 'Bad request', th: 'คำขอไม่ถูกต้อง', de: 'Ungültige Anfrage' },
  401: { en: 'Unauthorized', th: 'ไม่ได้รับอนุญาต', de: 'Nicht authentifiziert' },
  403: { en: 'Forbidden', th: 'ไม่มีสิทธิ์เข้าถึง', de: 'Zugriff verweigert' },
  404: { en: 'Not found', th: 'ไม่พบข้อมูล', de: 'Nicht gefunden' },
  405: { en: 'Method not allowed', th: 'ไม่อนุญาตให้ใช้เมธอดนี้', de: 'Methode nicht erlaubt' },
  406: { en: 'Not acceptable', th: 'ไม่สามารถตอบกลับในรูปแบบที่ขอได้', de: 'Nicht akzeptabel' },
  408: { en: 'Request timeout', th: 'คำขอหมดเวลา', de: 'Zeitüberschreitung der Anfrage' },
  409: MESSAGES.conflict,
  410: { en: 'Gone', th: 'ข้อมูลถูกลบแล้ว', de: 'Nicht mehr verfügbar' },
  411: { en: 'Length required', th: 'ต้องระบุความยาวของข้อมูล', de: 'Länge erforderlich' },
  413: MESSAGES.payloadTooLarge,
  414: { en: 'URI too long', th: 'URI ยาวเกินไป', de: 'URI zu lang' },
  415: MESSAGES.unsupportedMediaType,
  422: { en: 'Unprocessable entity', th: 'ไม่สามารถประมวลผลข้อมูลได้', de: 'Nicht verarbeitbare Daten' },
  429: {
    en: 'Too many requests, please retry later',
    th: 'มีคำขอมากเกินไป กรุณาลองใหม่ภายหลัง',
    de: 'Zu viele Anfragen, bitte später erneut versuchen',
  },
  431: {
    en: 'Request header fields too large',
    th: 'ส่วนหัวของคำขอมีขนาดใหญ่เกินไป',
    de: 'Header-Felder der Anfrage zu groß',
  },
  500: MESSAGES.internalError,
  503: MESSAGES.serviceUnavailable,
};

export type MessageKey = keyof typeof MESSAGES;

export function translate(key: MessageKey, language: Language, params: Record<string, string | number> = {}): string {
  return format(MESSAGES[key][language], params);
}

export function statusMessage(status: number, language: Language): string {
  const entry = STATUS_MESSAGES[status] ?? (status >= 500 ? MESSAGES.internalError : STATUS_MESSAGES[400]);
  return entry[language];
}

function format(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
