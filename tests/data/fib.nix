# Recorded profile fixture (tests/data/fib.db): fib 20 = 6765; 21891 lambda calls of fib (2 * fib(21) - 1), 21891 lessThan, 21890 sub.
let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 20
