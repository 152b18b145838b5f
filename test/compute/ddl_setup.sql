-- The DDL loop's database and its stored procedure (ddl_iteration.sh calls it).
CREATE DATABASE IF NOT EXISTS det;
DROP PROCEDURE IF EXISTS det.fill;
DELIMITER //
CREATE PROCEDURE det.fill(i INT)
BEGIN
  SET @create = CONCAT('CREATE TABLE det.pr_', i, ' (id INT PRIMARY KEY, v BIGINT) ENGINE=InnoDB');
  PREPARE s FROM @create; EXECUTE s; DEALLOCATE PREPARE s;
  SET @fill = CONCAT('INSERT INTO det.pr_', i, ' SELECT seq, seq * seq + ', i, ' FROM seq_1_to_200');
  PREPARE s FROM @fill; EXECUTE s; DEALLOCATE PREPARE s;
END //
DELIMITER ;
