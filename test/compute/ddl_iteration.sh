#!/usr/bin/env bash
# ddl_iteration.sh I: the SQL of the DDL loop's iteration I, on stdout. Deterministic and
# idempotent (it first drops what it creates), so an iteration cut short by a kill is run again
# whole, and a stock mariadbd running the same iterations ends with the same tables.
# Covers CREATE, ALTER ADD INDEX, RENAME, TRUNCATE, DROP, OPTIMIZE, a FULLTEXT index, a
# partitioned table, a stored procedure, CREATE USER / GRANT (the Aria system tables).
i=$1
cat <<SQL
USE det;
DROP TABLE IF EXISTS det.t_$i, det.r_$i, det.s_$i, det.p_$i, det.f_$i, det.d_$i, det.pr_$i;
DROP USER IF EXISTS 'u_$i'@'localhost';
CREATE TABLE det.t_$i (id INT PRIMARY KEY, a INT, b VARCHAR(64)) ENGINE=InnoDB;
INSERT INTO det.t_$i SELECT seq, (seq * $i) % 997, CONCAT('row-', seq, '-', $i) FROM seq_1_to_3000;
ALTER TABLE det.t_$i ADD INDEX a_idx (a);
RENAME TABLE det.t_$i TO det.r_$i;
UPDATE det.r_$i SET b = CONCAT(b, '-u') WHERE id % 7 = 0;
DELETE FROM det.r_$i WHERE id % 11 = 0;
OPTIMIZE TABLE det.r_$i;
CREATE TABLE det.s_$i LIKE det.r_$i;
INSERT INTO det.s_$i SELECT * FROM det.r_$i;
TRUNCATE TABLE det.s_$i;
INSERT INTO det.s_$i SELECT * FROM det.r_$i WHERE id % 3 = 0;
CREATE TABLE det.p_$i (id INT PRIMARY KEY, v INT) ENGINE=InnoDB PARTITION BY HASH (id) PARTITIONS 3;
INSERT INTO det.p_$i SELECT seq, seq * $i FROM seq_1_to_1500;
CREATE TABLE det.f_$i (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY body_ft (body)) ENGINE=InnoDB;
INSERT INTO det.f_$i SELECT seq, CONCAT('alpha beta gamma ', seq % 13, ' delta ', $i) FROM seq_1_to_500;
CREATE TABLE det.d_$i (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO det.d_$i SELECT seq FROM seq_1_to_100;
DROP TABLE det.d_$i;
CALL det.fill($i);
CREATE USER 'u_$i'@'localhost' IDENTIFIED BY 'pw$i';
GRANT SELECT ON det.* TO 'u_$i'@'localhost';
SQL
