"""The five hunting tables: their schema, the batched writer and the store backends."""
