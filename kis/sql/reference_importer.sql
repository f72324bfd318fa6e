/*
  FactoryBot 参考导入脚本：完工回写中间表 FB_InboundStaging → 金蝶 KIS 产品入库单（未审核）

  【这是一份参考脚本，交本厂金蝶实施顾问审阅。请勿直接在正式账套上运行：先在账套备份或测试账套上
   逐条核对字段、编号规则、仓库和部门，按本厂设置修改后，再作为 SQL Server 代理作业（例如每 5 分钟一次）
   在账套数据库中执行。】

  中间表的行状态（FactoryBot 只插入 FStatus = 0 的新行，并读回本脚本写下的结果）：
    FStatus = 0  新建：等待导入
    FStatus = 1  已入库：已生成产品入库单，单号写在 FKisBillNo，FMessage 置空
    FStatus = 9  失败：未生成单据，原因写在 FMessage（最长 255 字），FKisBillNo 置空
  被拒的行修正原因（例如启用物料）后，把 FStatus 改回 0，下一次运行会重新导入。
  数量为负的行是更正：FactoryBot 中报工被撤销或更正后，已回写的完工数量减少，对应生成红字产品入库单
  （FROB = -1，数量为负），并相应减少生产任务单的已入库数量 FCommitQty；红字数量不能超过已入库数量。

  每一行在自己的事务里处理（SET XACT_ABORT ON + TRY/CATCH）：成功则单据与状态一起提交；
  任何错误都整行回滚，并把该行标为 9 和错误信息，不影响其他行。
  内码由金蝶自己的 GetICMaxNum 分配（不要用 MAX(FInterID)+1），单号取自 ICBillNo（FBillID = 2，产品入库）。
  新单据为未审核（FStatus = 0，FCheckerID 为空），由 KIS 用户审核，审核时由 KIS 更新库存。

  需要本厂核对的地方都标有「核对」。依据：FactoryBot 文档中的 KIS 表结构说明（SEOrder/ICMO/ICStockBill、
  GetICMaxNum、ICBillNo），来自集成商公开的金蝶 SQL；KIS 专业版与旗舰版的列可能不同。
*/
SET NOCOUNT ON;
SET XACT_ABORT ON;

-- 核对：制单人（t_User.FUserID）、收货仓库（t_Stock.FItemID）、交货部门（t_Department.FItemID）。
DECLARE @BillerID INT;
DECLARE @StockID INT;
DECLARE @DeptID INT;
-- 核对：允许超过生产任务单计划数量的比例（%），与物料的超收设置和 FactoryBot 的 REPORT_TOLERANCE_PCT 一致。
DECLARE @OverPct DECIMAL(9, 4);
SET @BillerID = 16394;
SET @StockID = 0;
SET @DeptID = 0;
SET @OverPct = 10;

DECLARE @Key VARCHAR(64), @Taken INT, @Reason NVARCHAR(255);
DECLARE @OrderBillNo VARCHAR(50), @OrderEntryID INT, @ICMOBillNo VARCHAR(50), @ItemNumber VARCHAR(80);
DECLARE @Qty DECIMAL(28, 10), @Day DATETIME;
DECLARE @ItemID INT, @ItemName NVARCHAR(255), @ItemDeleted INT, @UnitID INT;
DECLARE @OrderInterID INT, @ICMOInterID INT, @ICMOQty DECIMAL(28, 10), @ICMOCommitted DECIMAL(28, 10);
DECLARE @LineReceived DECIMAL(28, 10), @ROB INT;
DECLARE @InterID INT, @BillNo VARCHAR(50), @Prefix VARCHAR(20), @CurNo INT, @Format VARCHAR(20);
DECLARE @Digits VARCHAR(20), @NextDigits VARCHAR(20);

DECLARE staged CURSOR LOCAL FAST_FORWARD FOR
    SELECT FSourceKey FROM FB_InboundStaging WHERE FStatus = 0 ORDER BY FCreatedAt, FSourceKey;
OPEN staged;
FETCH NEXT FROM staged INTO @Key;
WHILE @@FETCH_STATUS = 0
BEGIN
    SET @Reason = NULL;
    SET @ItemID = NULL;
    SET @ItemName = NULL;
    SET @ItemDeleted = NULL;
    SET @UnitID = NULL;
    SET @OrderInterID = NULL;
    SET @ICMOInterID = NULL;
    SET @LineReceived = 0;
    BEGIN TRY
        BEGIN TRANSACTION;
        -- 锁住这一行并确认它仍是新行：两个作业同时运行时，只有一个会处理它。
        SELECT @OrderBillNo = FOrderBillNo, @OrderEntryID = FOrderEntryID, @ICMOBillNo = FICMOBillNo,
               @ItemNumber = FItemNumber, @Qty = FQty, @Day = FDate
        FROM FB_InboundStaging WITH (UPDLOCK, ROWLOCK)
        WHERE FSourceKey = @Key AND FStatus = 0;
        SET @Taken = @@ROWCOUNT;
        IF @Taken = 1
        BEGIN
            SELECT @ItemID = FItemID, @ItemName = FName, @ItemDeleted = FDeleted, @UnitID = FUnitID
            FROM t_ICItem
            WHERE FNumber = @ItemNumber;
            SELECT @OrderInterID = h.FInterID
            FROM SEOrder h
            JOIN SEOrderEntry e ON e.FInterID = h.FInterID
            WHERE h.FBillNo = @OrderBillNo AND e.FEntryID = @OrderEntryID AND h.FCancellation = 0;
            IF @ICMOBillNo IS NOT NULL
                SELECT @ICMOInterID = FInterID, @ICMOQty = FQty, @ICMOCommitted = COALESCE(FCommitQty, 0)
                FROM ICMO
                WHERE FBillNo = @ICMOBillNo AND FTranType = 85 AND FCancellation = 0;
            -- 没有生产任务单的红字行：按销售订单行已入库的数量核对。
            IF @Qty < 0 AND @ICMOBillNo IS NULL
                SELECT @LineReceived = COALESCE(SUM(e.FQty), 0)
                FROM ICStockBillEntry e
                JOIN ICStockBill b ON b.FInterID = e.FInterID
                WHERE b.FTranType = 2 AND b.FCancellation = 0 AND e.FOrderInterID = @OrderInterID
                  AND e.FOrderEntryID = @OrderEntryID AND e.FItemID = @ItemID;

            IF @ItemID IS NULL
                SET @Reason = N'物料 ' + @ItemNumber + N' 在 KIS 中不存在';
            ELSE IF @ItemDeleted = 1
                SET @Reason = N'物料 ' + @ItemNumber + N' ' + @ItemName + N' 已禁用，不能入库';
            ELSE IF @OrderInterID IS NULL
                SET @Reason = N'销售订单 ' + @OrderBillNo + N' 第 ' + CAST(@OrderEntryID AS NVARCHAR(10)) + N' 行在 KIS 中不存在或已作废';
            ELSE IF @ICMOBillNo IS NOT NULL AND @ICMOInterID IS NULL
                SET @Reason = N'生产任务单 ' + @ICMOBillNo + N' 在 KIS 中不存在或已作废';
            ELSE IF @Qty = 0
                SET @Reason = N'入库数量不能为 0';
            ELSE IF @Qty < 0 AND @ICMOInterID IS NOT NULL AND @ICMOCommitted + @Qty < 0
                SET @Reason = N'红字入库数量 ' + CAST(CAST(-@Qty AS DECIMAL(28, 0)) AS NVARCHAR(40))
                              + N' 超过已入库数量 ' + CAST(CAST(@ICMOCommitted AS DECIMAL(28, 0)) AS NVARCHAR(40));
            ELSE IF @Qty < 0 AND @ICMOInterID IS NULL AND @LineReceived + @Qty < 0
                SET @Reason = N'红字入库数量 ' + CAST(CAST(-@Qty AS DECIMAL(28, 0)) AS NVARCHAR(40))
                              + N' 超过已入库数量 ' + CAST(CAST(@LineReceived AS DECIMAL(28, 0)) AS NVARCHAR(40));
            ELSE IF @ICMOInterID IS NOT NULL AND @ICMOCommitted + @Qty > @ICMOQty * (1 + @OverPct / 100)
                SET @Reason = N'入库数量超过生产任务单 ' + @ICMOBillNo + N' 的计划数量';

            IF @Reason IS NULL
            BEGIN
                -- 红字（更正减少的数量）：FROB = -1，数量为负。
                SET @ROB = CASE WHEN @Qty < 0 THEN -1 ELSE 1 END;
                -- 金蝶自己的内码分配；第 4 个参数为制单人（按用户预留号段）。
                EXEC GetICMaxNum 'ICStockBill', @InterID OUTPUT, 1, @BillerID;
                -- 核对：启用了编码规则（t_BillCodeRule）的账套，单号应按规则生成。
                SELECT @Prefix = COALESCE(FPreLetter, ''), @CurNo = FCurNo, @Format = COALESCE(FFormat, '')
                FROM ICBillNo WITH (UPDLOCK)
                WHERE FBillID = 2;
                IF @CurNo IS NULL
                    RAISERROR (N'ICBillNo 中没有产品入库（FBillID = 2）的编号设置', 16, 1);
                SET @Digits = CAST(@CurNo AS VARCHAR(20));
                SET @NextDigits = CAST(@CurNo + 1 AS VARCHAR(20));
                SET @BillNo = @Prefix + RIGHT(@Format + @Digits, CASE WHEN LEN(@Format) > LEN(@Digits) THEN LEN(@Format) ELSE LEN(@Digits) END);
                UPDATE ICBillNo
                SET FCurNo = FCurNo + 1,
                    FDesc = @Prefix + '+' + RIGHT(@Format + @NextDigits, CASE WHEN LEN(@Format) > LEN(@NextDigits) THEN LEN(@Format) ELSE LEN(@NextDigits) END)
                WHERE FBillID = 2;

                INSERT INTO ICStockBill (FInterID, FBillNo, FBrNo, FTranType, FDate, FDeptID, FStatus, FCancellation, FROB,
                                         FUpStockWhenSave, FSelTranType, FBillerID, FCheckerID, FUUID)
                VALUES (@InterID, @BillNo, '0', 2, @Day, @DeptID, 0, 0, @ROB,
                        0, 85, @BillerID, NULL, NEWID());
                INSERT INTO ICStockBillEntry (FInterID, FEntryID, FBrNo, FItemID, FUnitID, FQty, FAuxQty, FQtyMust, FAuxQtyMust,
                                              FPrice, FAmount, FDCStockID, FBatchNo, FSourceTranType, FSourceInterId,
                                              FSourceEntryID, FSourceBillNo, FICMOInterID, FICMOBillNo,
                                              FOrderInterID, FOrderEntryID, FChkPassItem, FPlanMode)
                VALUES (@InterID, 1, '0', @ItemID, @UnitID, @Qty, @Qty, @Qty, @Qty,
                        0, 0, @StockID, '', CASE WHEN @ICMOInterID IS NULL THEN 0 ELSE 85 END, @ICMOInterID,
                        CASE WHEN @ICMOInterID IS NULL THEN 0 ELSE 1 END, @ICMOBillNo, @ICMOInterID, @ICMOBillNo,
                        @OrderInterID, @OrderEntryID, 1058, 14036);
                -- 核对：生产任务单的已入库数量，金蝶自己的下推也会更新它（红字行使它减少）。
                IF @ICMOInterID IS NOT NULL
                    UPDATE ICMO SET FCommitQty = COALESCE(FCommitQty, 0) + @Qty WHERE FInterID = @ICMOInterID;
                -- 核对：金蝶刷新单据关联数据的过程（集成商的产品入库过程都调用它）。
                EXEC p_UpdateBillRelateData 2, @InterID, 'ICStockBill', 'ICStockBillEntry';

                UPDATE FB_InboundStaging
                SET FStatus = 1, FKisBillNo = @BillNo, FMessage = NULL
                WHERE FSourceKey = @Key;
            END
            ELSE
                UPDATE FB_InboundStaging
                SET FStatus = 9, FKisBillNo = NULL, FMessage = @Reason
                WHERE FSourceKey = @Key;
        END
        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        SET @Reason = LEFT(N'导入失败：' + ERROR_MESSAGE(), 255);
        UPDATE FB_InboundStaging
        SET FStatus = 9, FKisBillNo = NULL, FMessage = @Reason
        WHERE FSourceKey = @Key AND FStatus = 0;
    END CATCH;
    FETCH NEXT FROM staged INTO @Key;
END;
CLOSE staged;
DEALLOCATE staged;
GO
