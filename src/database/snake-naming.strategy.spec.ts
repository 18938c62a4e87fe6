import { snakeCase, SnakeNamingStrategy } from './snake-naming.strategy';

describe('SnakeNamingStrategy', () => {
  const strategy = new SnakeNamingStrategy();

  it.each([
    ['ActivityLog', 'activity_log'],
    ['createdAt', 'created_at'],
    ['ipAddress', 'ip_address'],
    ['HTTPRequest', 'http_request'],
    ['userId', 'user_id'],
  ])('%s -> %s', (name, snake) => {
    expect(snakeCase(name)).toBe(snake);
  });

  it('names tables, columns and join columns in snake_case', () => {
    expect(strategy.tableName('AuditLog', undefined)).toBe('audit_log');
    expect(strategy.tableName('AuditLog', 'audit_logs')).toBe('audit_logs');
    expect(strategy.columnName('entityType', undefined, [])).toBe('entity_type');
    expect(strategy.columnName('name', undefined, ['actor'])).toBe('actor_name');
    expect(strategy.joinColumnName('user', 'id')).toBe('user_id');
  });
});
