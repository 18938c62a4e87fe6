'use strict';
/**
 * The speed-of-light reference for Logbook's hot endpoints: the same table, the same HS256 access tokens and the
 * same queries, written on bare Fastify + pg with no framework, no validation beyond the minimum, no envelope
 * translation, no session revocation, no cache. It answers what the API asks of these endpoints (a list page
 * carries its total in offset mode), so the comparison measures the framework and features, not a smaller answer.
 * `npm run bench` runs it beside Logbook. Not part of the product.
 */
const { createHmac, timingSafeEqual } = require('node:crypto');
const Fastify = require('fastify');
const { Pool } = require('pg');

const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
});
const secret = Buffer.from(process.env.JWT_SECRET ?? '', 'utf8');
const app = Fastify({ logger: false });

/** A fast HS256 check: signature, then expiry. */
function verify(header) {
  const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
  if (!token) return undefined;
  const [head, body, signature] = token.split('.');
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature ?? '', 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
  return claims.exp * 1000 > Date.now() ? claims : undefined;
}

const COLUMNS = `id, user_id, action, status, metadata, actor_user_id, actor_name, actor_email, actor_role, target_type,
  target_id, target_model, target_name, context_description, context_source, context_additional_info, ip_address,
  user_agent, timestamp, created_at, updated_at`;

app.addHook('onRequest', async (request, reply) => {
  request.user = verify(request.headers.authorization);
  if (!request.user) return reply.code(401).send({ success: false });
});

app.post('/activities', async (request, reply) => {
  const body = request.body ?? {};
  if (typeof body.action !== 'string' || !body.action) return reply.code(400).send({ success: false });
  const user = request.user;
  const { rows } = await pool.query(
    `INSERT INTO activities (user_id, action, metadata, actor_user_id, actor_name, actor_email, actor_role, ip_address, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [
      user.sub,
      body.action,
      JSON.stringify(body.metadata ?? {}),
      user.sub,
      user.name,
      user.email,
      user.role,
      request.ip,
      request.headers['user-agent'] ?? null,
    ],
  );
  return reply.code(201).send({ success: true, message: 'Success', data: rows[0] });
});

// The same contract as Logbook's list: a page (one row more tells whether more follow) with its total in offset
// mode, counted in the same statement (the fastest way found for Logbook too), none in keyset mode.
app.get('/activities', async (request) => {
  const query = request.query;
  const limit = Math.min(Number(query.limit ?? 20), 100);
  const where = ['user_id = $1', 'deleted_at IS NULL'];
  const params = [request.user.role === 'ADMIN' && query.all ? null : request.user.sub];
  if (params[0] === null) (where.shift(), params.shift());
  if (query.action) where.push(`action = $${params.push(query.action)}`);
  if (query.start) where.push(`timestamp >= $${params.push(query.start)}`);
  if (query.end) where.push(`timestamp <= $${params.push(query.end)}`);
  const keyset = Boolean(query.afterTimestamp);
  const total = keyset ? '' : `(SELECT count(*) FROM activities WHERE ${where.join(' AND ')}) AS total_count, `;
  if (keyset) where.push(`(timestamp, id) < ($${params.push(query.afterTimestamp)}, $${params.push(query.afterId)})`);
  const { rows } = await pool.query(
    `SELECT ${total}${COLUMNS} FROM activities WHERE ${where.join(' AND ')} ORDER BY timestamp DESC, id DESC LIMIT ${limit + 1}`,
    params,
  );
  const page = rows.slice(0, limit);
  const totalItems = keyset ? null : rows.length ? Number(rows[0].total_count) : 0;
  for (const row of page) delete row.total_count;
  return {
    success: true,
    message: 'Success',
    data: page,
    meta: {
      totalItems,
      itemCount: page.length,
      itemsPerPage: limit,
      totalPages: totalItems === null ? null : Math.ceil(totalItems / limit),
      currentPage: keyset ? null : 1,
      nextCursor: rows.length > limit ? 'more' : null,
    },
  };
});

app.listen({ port: Number(process.env.PORT ?? 3999), host: '127.0.0.1' }).then((address) => {
  process.stdout.write(`reference listening on ${address}\n`);
});
process.on('SIGTERM', () =>
  app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0)),
);
