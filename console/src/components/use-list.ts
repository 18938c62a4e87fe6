import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, list } from '../api/client';

/** A list read page by page through its cursor: its rows, whether more follow, and a way to read it again. */
export function useList<T>(path: string) {
  const [rows, setRows] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      setLoading(true);
      setError(null);
      try {
        const separator = path.includes('?') ? '&' : '?';
        const page = await list<T>(`${path}${separator}limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`);
        setRows((before) => (after ? [...before, ...page.data] : page.data));
        setCursor(page.meta.nextCursor);
      } catch (failure) {
        setError(failure instanceof ApiError ? failure.message : String(failure));
      } finally {
        setLoading(false);
      }
    },
    [path],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return {
    rows,
    setRows,
    loading,
    error,
    setError,
    more: cursor ? () => void load(cursor) : null,
    reload: () => void load(null),
  };
}

/** A failure's message, as the API gave it. */
export const messageOf = (failure: unknown) => (failure instanceof ApiError ? failure.message : String(failure));
