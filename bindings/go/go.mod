module csock

go 1.19
