/**
 * The rows of a `RETURNING` statement run through TypeORM's `query`: for UPDATE and DELETE the
 * Postgres driver answers `[rows, rowCount]`, for SELECT and INSERT the rows themselves.
 */
export function returnedRows<T>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  )
    return result[0] as T[];
  return result as T[];
}
