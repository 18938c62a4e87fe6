import { pickLanguage } from './language';
import { statusMessage, translate } from './messages';

describe('pickLanguage', () => {
  it.each([
    [undefined, 'en'],
    ['', 'en'],
    ['th', 'th'],
    ['th-TH', 'th'],
    ['TH-th', 'th'],
    ['de-DE,de;q=0.9', 'de'],
    ['fr, th;q=0.5', 'th'],
    ['en;q=0.2, de;q=0.8', 'de'],
    ['de;q=0.5, th;q=0.5', 'de'],
    ['th;q=0', 'en'],
    ['th;q=0, de;q=0.1', 'de'],
    ['fr, es', 'en'],
    ['*', 'en'],
    ['th;q=abc', 'en'],
  ])('%p gives %p', (header, language) => {
    expect(pickLanguage(header)).toBe(language);
  });
});

describe('messages', () => {
  it('fills parameters in every language', () => {
    expect(translate('routeNotFound', 'en', { method: 'GET', path: '/x' })).toBe('Cannot GET /x');
    expect(translate('routeNotFound', 'de', { method: 'GET', path: '/x' })).toBe('GET /x existiert nicht');
  });

  it('has a generic message for any status', () => {
    expect(statusMessage(404, 'th')).toBe('ไม่พบข้อมูล');
    expect(statusMessage(418, 'en')).toBe('Bad request');
    expect(statusMessage(502, 'de')).toBe('Interner Serverfehler');
  });
});
