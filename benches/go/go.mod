module mnbench/gobench

go 1.19
