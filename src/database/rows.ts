import { types } from 'pg';
import type { Repository } from 'typeorm';

/** Maps a raw row (snake_case columns, as pg parsed them) to the entity, as TypeORM would, transformers included. */
export function hydrate<T extends object>(repository: Repository<T>, raw: Record<string, unknown>): T {
  const entity = repository.create();
  for (const column of repository.metadata.columns) {
    const value = raw[column.databaseName];
    if (value === undefined) continue;
    const converted: unknown =
      column.transformer && !Array.isArray(column.transformer) ? column.transformer.from(value) : value;
    column.setEntityValue(entity, converted);
  }
  return entity;
}

/**
 * Parses timestamptz text as pg does for a timestamptz column, once per distinct text (a fresh Date each time, as
 * entities do not share them).
 */
export function timestampParser(): (text: string) => Date {
  const parse = types.getTypeParser(types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date;
  let lastText: string | undefined;
  let lastTime = 0;
  return (text) => {
    if (text !== lastText) {
      lastTime = parse(text).getTime();
      lastText = text;
    }
    return new Date(lastTime);
  };
}
