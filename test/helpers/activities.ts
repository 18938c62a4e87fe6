import { http } from './http';
import { TestUser } from './factories';

/** Records an activity through the API and returns it. */
export async function createActivity(
  user: TestUser,
  body: Record<string, unknown> = {},
  baseUrl?: string,
): Promise<any> {
  const res = await http(
    '/api/v1/activities',
    { method: 'POST', token: user.accessToken, body: { action: 'VIEW_COURSE', ...body } },
    baseUrl,
  );
  if (res.status !== 201) throw new Error(`create activity failed: ${res.status} ${res.text}`);
  return res.body.data;
}

export const listActivities = (user: TestUser, query = '', baseUrl?: string) =>
  http(`/api/v1/activities${query ? `?${query}` : ''}`, { token: user.accessToken }, baseUrl);

export const setStatus = (user: TestUser, id: number, status: string, path = '/status') =>
  http(`/api/v1/activities/${id}${path}`, { method: 'PATCH', token: user.accessToken, body: { status } });
