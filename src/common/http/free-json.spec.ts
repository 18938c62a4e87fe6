import 'reflect-metadata';
import { ArgumentMetadata } from '@nestjs/common';
import { CreateActivityBatchDto, CreateActivityDto } from '../../modules/activity-log/dto/create-activity.dto';
import { AppException } from './app.exception';
import { AppValidationPipe } from './validation.pipe';

const pipe = new AppValidationPipe();
const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => {
      if (error instanceof AppException) return error.details;
      throw error;
    },
  );

describe('free-form JSON through the validation pipe', () => {
  it('reaches the DTO exactly as parsed: prototype-named keys, key order, nested values', async () => {
    const text =
      '{"z":1,"__proto__":{"a":1},"constructor":{"prototype":2},"toString":"x","valueOf":[{"constructor":3}]}';
    const dto = (await pipe.transform(
      { action: 'LOGIN', metadata: JSON.parse(text), context: { additionalInfo: JSON.parse(text) } },
      body(CreateActivityDto),
    )) as CreateActivityDto;
    expect(dto).toBeInstanceOf(CreateActivityDto);
    expect(JSON.stringify(dto.metadata)).toBe(text);
    expect(JSON.stringify(dto.context?.additionalInfo)).toBe(text);
    expect(Object.getPrototypeOf(dto.metadata)).toBe(Object.prototype);
  });

  it('keeps nothing of one body for the next (the value travels with its body)', async () => {
    const items = [
      { action: 'A', metadata: { n: 1 } },
      { action: 'B', metadata: { n: 2 } },
    ];
    const [first, second] = (await Promise.all(
      items.map((item) => pipe.transform({ items: [item] }, body(CreateActivityBatchDto))),
    )) as CreateActivityBatchDto[];
    expect(first.items[0].metadata).toEqual({ n: 1 });
    expect(second.items[0].metadata).toEqual({ n: 2 });
  });

  it('refuses a free-form field that is not an object with its rule, not a 500', async () => {
    await expect(
      refusal(pipe.transform({ action: 'LOGIN', metadata: [{ constructor: 2 }] }, body(CreateActivityDto))),
    ).resolves.toEqual([{ field: 'metadata', message: 'metadata must be an object' }]);
  });

  it('refuses body fields named like Object.prototype members, at every level', async () => {
    const plain = JSON.parse('{"action":"LOGIN","toString":1,"actor":{"name":"a","email":"a@b.co","constructor":1}}');
    await expect(refusal(pipe.transform(plain, body(CreateActivityDto)))).resolves.toEqual([
      { field: 'toString', message: 'property toString should not exist' },
      { field: 'actor.constructor', message: 'property constructor should not exist' },
    ]);
  });
});
