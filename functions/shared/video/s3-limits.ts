/** S3's limits on a multipart upload: the smallest part (all but the last) and the most parts. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
export const S3_MAX_PARTS = 10_000;
